// wss for the load generator: OpenSSL straight on each socket, so that the client spends as
// little as it can and a TLS row measures the server's TLS, not the generator's copies.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace duplex::bench {

enum class tls_progress { done, want_read, want_write, failed };

// The client configuration every socket of a run shares. It verifies nothing: the servers
// under test present a throwaway self-signed certificate.
class tls_client {
 public:
  tls_client();
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  // A client session on the connected socket `fd`, or nullptr if OpenSSL refuses one.
  ssl_st* attach(int fd) const;

 private:
  ssl_ctx_st* ctx_;
};

void tls_free(ssl_st* s) noexcept;
// One step of the client handshake; call again on the readiness it asks for.
tls_progress tls_handshake(ssl_st* s) noexcept;
// recv(2) and send(2) over the session, with their results: bytes moved, 0 at the peer's end
// of stream, -1 with errno EAGAIN when the socket must become ready first (either way round:
// every socket is always watched for reading), -1 with EIO on a TLS error.
ssize_t tls_recv(ssl_st* s, char* buf, std::size_t len) noexcept;
ssize_t tls_send(ssl_st* s, const char* buf, std::size_t len) noexcept;
// Plaintext OpenSSL holds already decrypted or read ahead: read it before waiting on the socket.
bool tls_pending(ssl_st* s) noexcept;
// "TLSv1.3 TLS_AES_256_GCM_SHA384": what the handshake settled on.
std::string tls_describe(ssl_st* s);

}  // namespace duplex::bench
