#include "tls_sni.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "duplex/net/tls.hpp"

namespace duplex::net {
namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string to_string(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
          static_cast<std::size_t>(ASN1_STRING_length(s))};
}

// OpenSSL calls this with the ClientHello's name; the certificate is swapped before any is sent.
int on_servername(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  SSL_CTX* chosen = static_cast<const tls_context*>(arg)->choose(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

bool sni_matches(std::string_view pattern, std::string_view name) noexcept {
  if (name.empty() || pattern.empty()) return false;
  if (pattern.starts_with("*.")) {
    const std::size_t dot = name.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;
    return iequal(pattern.substr(1), name.substr(dot));
  }
  return iequal(pattern, name);
}

std::vector<std::string> certificate_names(SSL_CTX* ctx) {
  std::vector<std::string> names;
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type == GEN_DNS) names.push_back(to_string(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
  }
  if (!names.empty()) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0)
    names.push_back(to_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))));
  return names;
}

void install_sni_callback(SSL_CTX* ctx, const tls_context* chooser) {
  // What the macros SSL_CTX_set_tlsext_servername_callback/_arg expand to, without C casts.
  SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                        reinterpret_cast<void (*)()>(&on_servername));
  SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, const_cast<tls_context*>(chooser));
}

}  // namespace duplex::net
