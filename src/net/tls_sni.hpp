// Choosing a server certificate by the name a client asks for (SNI, RFC 6066 section 3).
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;

namespace duplex::net {

// Whether a certificate's DNS name `pattern` covers `name`: equal ignoring case, or a
// wildcard "*.example.com" for exactly one more label ("a.example.com", not "example.com" nor
// "a.b.example.com"), as RFC 6125 section 6.4.3 allows it.
bool sni_matches(std::string_view pattern, std::string_view name) noexcept;

// The DNS names of the certificate loaded in `ctx`: its subjectAltName DNS entries, or its
// common name when it has none.
std::vector<std::string> certificate_names(ssl_ctx_st* ctx);

// Installs the servername callback on `ctx` (the default one), which switches a handshake to
// the context `chooser` picks for the client's name.
class tls_context;
void install_sni_callback(ssl_ctx_st* ctx, const tls_context* chooser);

}  // namespace duplex::net
