#include "tls_link.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <climits>
#include <stdexcept>

namespace duplex::bench {

tls_client::tls_client() : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  // Read ahead: one recv per socket buffer instead of two (header, body) per 16 KiB record.
  SSL_CTX_set_read_ahead(ctx_, 1);
  // The generator resends from a buffer of repeated frames at any offset, and takes partial
  // writes as send(2) does.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

tls_client::~tls_client() {
  SSL_CTX_free(ctx_);
}

ssl_st* tls_client::attach(int fd) const {
  SSL* s = SSL_new(ctx_);
  if (s == nullptr) return nullptr;
  if (SSL_set_fd(s, fd) != 1) {
    SSL_free(s);
    return nullptr;
  }
  SSL_set_connect_state(s);
  return s;
}

void tls_free(ssl_st* s) noexcept {
  SSL_free(s);
}

namespace {

// Maps a failed SSL call onto the socket calls' conventions. The thread's error queue is left
// empty, as SSL_get_error needs it for the next call on any session of this worker.
ssize_t failed(ssl_st* s, int rc) noexcept {
  const int err = SSL_get_error(s, rc);
  const int saved = errno;
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;                       // close_notify
  if (err == SSL_ERROR_SYSCALL && rc == 0 && saved == 0) return 0;  // TCP end, no alert
  errno = EIO;
  return -1;
}

int clamp(std::size_t len) noexcept {
  return len > INT_MAX ? INT_MAX : static_cast<int>(len);
}

}  // namespace

tls_progress tls_handshake(ssl_st* s) noexcept {
  const int rc = SSL_do_handshake(s);
  if (rc == 1) return tls_progress::done;
  const int err = SSL_get_error(s, rc);
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ) return tls_progress::want_read;
  if (err == SSL_ERROR_WANT_WRITE) return tls_progress::want_write;
  return tls_progress::failed;
}

ssize_t tls_recv(ssl_st* s, char* buf, std::size_t len) noexcept {
  errno = 0;
  const int n = SSL_read(s, buf, clamp(len));
  return n > 0 ? n : failed(s, n);
}

ssize_t tls_send(ssl_st* s, const char* buf, std::size_t len) noexcept {
  errno = 0;
  const int n = SSL_write(s, buf, clamp(len));
  return n > 0 ? n : failed(s, n);
}

bool tls_pending(ssl_st* s) noexcept {
  return SSL_has_pending(s) == 1;
}

std::string tls_describe(ssl_st* s) {
  return std::string(SSL_get_version(s)) + " " + SSL_CIPHER_get_name(SSL_get_current_cipher(s));
}

}  // namespace duplex::bench
