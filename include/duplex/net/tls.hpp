// TLS over OpenSSL without giving it the socket: ciphertext in, plaintext out and back, so the
// loop keeps owning every read, write and timer.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;

namespace duplex::net {

/// TLS settings of a server or a client.
struct tls_options {
  std::string cert_file;  ///< server: PEM certificate chain
  std::string key_file;   ///< server: PEM private key
  std::string ca_file;    ///< client: trust these instead of the system's store
  bool verify = true;     ///< client: check the chain and the host name (off only for tests)
};

/// One certificate a server can present: a PEM chain and its private key.
struct tls_certificate {
  /// PEM certificate chain.
  std::string cert_file;
  /// PEM private key.
  std::string key_file;
};

/// An SSL_CTX: one per server or client configuration. Throws std::runtime_error with
/// OpenSSL's reason when the certificate, key or CA file cannot be used.
class tls_context {
 public:
  /// A server context with the one certificate of `o`.
  static std::shared_ptr<tls_context> server(const tls_options& o);
  /// Several certificates: the first is the default, each other one is presented to a client
  /// whose SNI name matches one of its DNS names (subjectAltName, else the common name; "*."
  /// covers one label). All are loaded or none: the first that fails throws.
  static std::shared_ptr<tls_context> server(const std::vector<tls_certificate>& certs);
  /// A client context trusting `o.ca_file` (or the system store), verifying unless `o.verify` is
  /// false.
  static std::shared_ptr<tls_context> client(const tls_options& o);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  /// The SSL_CTX (the default one for a server).
  ssl_ctx_st* native() const noexcept { return ctx_; }
  /// Client: whether peers are verified.
  bool verifies() const noexcept { return verify_; }
  /// The context whose certificate answers to `sni_name`; the default one when none does.
  ssl_ctx_st* choose(std::string_view sni_name) const noexcept;

 private:
  explicit tls_context(ssl_ctx_st* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  ssl_ctx_st* ctx_;
  bool verify_;
  /// Every certificate with the names it answers to, the default first (servers only).
  std::vector<std::pair<std::vector<std::string>, ssl_ctx_st*>> by_name_;
};

/// One TLS connection over memory buffers: the caller moves the bytes, OpenSSL never sees
/// the socket.
class tls_session {
 public:
  /// `host`: for a client, the name sent as SNI and checked against the certificate.
  tls_session(const std::shared_ptr<tls_context>& ctx, bool server, const std::string& host = {});
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// Ciphertext from the peer. Decrypted bytes are appended to `plain`, and records OpenSSL
  /// wants to send (handshake, alerts) to `cipher`. False on a fatal error (see error()); after
  /// one, receive and send fail at once and close_notify writes nothing.
  bool receive(std::string_view bytes, std::string& plain, std::string& cipher);
  /// Encrypts `plain` into `cipher`. Only after handshake_done().
  bool send(std::string_view plain, std::string& cipher);
  /// Starts a client's handshake (its ClientHello goes to `cipher`).
  void start(std::string& cipher);
  /// Our close_notify alert, to send before ending TCP.
  void close_notify(std::string& cipher);

  /// Whether the handshake has completed.
  bool handshake_done() const noexcept { return done_; }
  /// Whether the peer sent its close_notify.
  bool peer_closed() const noexcept { return peer_closed_; }
  /// After a failure: OpenSSL's reason.
  const std::string& error() const noexcept { return error_; }

 private:
  bool step(std::string& plain, std::string& cipher);
  void drain(std::string& cipher);
  bool fatal() noexcept;

  std::shared_ptr<tls_context> ctx_;
  ssl_st* ssl_ = nullptr;
  bool done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace duplex::net
