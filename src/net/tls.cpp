#include "duplex/net/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>

#include "io_calls.hpp"
#include "tls_sni.hpp"

namespace duplex::net {
namespace {

std::string openssl_error(const char* what) {
  std::string s = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    s += ": ";
    s += buf;
  }
  return s;
}

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) throw std::runtime_error(openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation lets a peer restart the expensive handshake at will: refused.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

SSL_CTX* load_certificate(const tls_certificate& c) {
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    const std::string why =
        openssl_error(("TLS certificate " + c.cert_file + " / key " + c.key_file).c_str());
    SSL_CTX_free(ctx);
    throw std::runtime_error(why);
  }
  return ctx;
}

}  // namespace

std::shared_ptr<tls_context> tls_context::server(const tls_options& o) {
  return server(std::vector<tls_certificate>{{o.cert_file, o.key_file}});
}

std::shared_ptr<tls_context> tls_context::server(const std::vector<tls_certificate>& certs) {
  if (certs.empty()) throw std::runtime_error("TLS: no certificate given");
  std::shared_ptr<tls_context> out(new tls_context(load_certificate(certs[0]), false));
  // The default answers every name no other certificate claims; it is matched first anyway so
  // that a name it shares with another keeps it.
  out->by_name_.emplace_back(certificate_names(out->ctx_), out->ctx_);
  for (std::size_t i = 1; i < certs.size(); ++i) {
    SSL_CTX* ctx = load_certificate(certs[i]);  // on a throw, `out` frees the ones before
    out->by_name_.emplace_back(std::vector<std::string>{}, ctx);
    out->by_name_.back().first = certificate_names(ctx);
  }
  if (certs.size() > 1) install_sni_callback(out->ctx_, out.get());
  return out;
}

SSL_CTX* tls_context::choose(std::string_view sni_name) const noexcept {
  for (const auto& [names, ctx] : by_name_)
    for (const auto& n : names)
      if (sni_matches(n, sni_name)) return ctx;
  return ctx_;
}

std::shared_ptr<tls_context> tls_context::client(const tls_options& o) {
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  if (o.verify) {
    const int ok = o.ca_file.empty()
                       ? SSL_CTX_set_default_verify_paths(ctx)
                       : SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    if (ok != 1) {
      const std::string why = openssl_error(("TLS trust store " + o.ca_file).c_str());
      SSL_CTX_free(ctx);
      throw std::runtime_error(why);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return std::shared_ptr<tls_context>(new tls_context(ctx, o.verify));
}

tls_context::~tls_context() {
  // by_name_ lists ctx_ first; every other entry is owned here as well.
  for (std::size_t i = 1; i < by_name_.size(); ++i)
    SSL_CTX_free(by_name_[i].second);
  SSL_CTX_free(ctx_);
}

tls_session::tls_session(const std::shared_ptr<tls_context>& ctx, bool server,
                         const std::string& host)
    : ctx_(ctx), ssl_(SSL_new(ctx->native())) {
  if (ssl_ == nullptr) throw std::runtime_error(openssl_error("SSL_new"));
  // Memory BIOs: OpenSSL never touches the socket.
  SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  if (server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  in6_addr ip{};
  const bool literal =
      ::inet_pton(AF_INET, host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, host.c_str(), &ip) == 1;
  if (literal) {
    // An address is checked against the certificate's IP entries, and is never sent as SNI
    // (RFC 6066 section 3).
    if (ctx->verifies()) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else if (!host.empty()) {
    // SNI. The macro SSL_set_tlsext_host_name hides a C cast; this is the call it makes.
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
    // The certificate must name the host we asked for (RFC 6125), checked during the handshake.
    if (ctx->verifies()) SSL_set1_host(ssl_, host.c_str());
  }
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

void tls_session::drain(std::string& cipher) {
  BIO* wbio = SSL_get_wbio(ssl_);
  // Straight into the caller's string: a bounce through a stack buffer would copy every
  // ciphertext byte once more.
  while (const std::size_t pending = BIO_ctrl_pending(wbio)) {
    const std::size_t at = cipher.size();
    cipher.resize(at + pending);
    const int n = BIO_read(wbio, cipher.data() + at, static_cast<int>(pending));
    cipher.resize(at + static_cast<std::size_t>(std::max(n, 0)));
    if (n <= 0) break;
  }
}

void tls_session::start(std::string& cipher) {
  ERR_clear_error();
  SSL_do_handshake(ssl_);
  drain(cipher);
}

bool tls_session::step(std::string& plain, std::string& cipher) {
  if (!done_) {
    const int rc = SSL_do_handshake(ssl_);
    drain(cipher);
    if (rc != 1) {
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
      error_ = openssl_error("TLS handshake failed");
      if (SSL_get_verify_result(ssl_) != X509_V_OK)
        error_ += std::string(": ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
      return fatal();
    }
    done_ = true;
  }
  char buf[16384];
  while (true) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    drain(cipher);
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;  // close_notify: the peer's orderly end of TLS
      return true;
    }
    error_ = openssl_error("TLS read failed");
    return fatal();
  }
}

// OpenSSL forbids going on after a fatal error (SSL_shutdown included), so the session
// refuses every later step itself instead of trusting each caller to stop.
bool tls_session::fatal() noexcept {
  failed_ = true;
  return false;
}

bool tls_session::receive(std::string_view bytes, std::string& plain, std::string& cipher) {
  if (failed_) return false;
  if (sys::tls_fault(done_ ? tls_step::receive : tls_step::handshake)) {
    error_ = done_ ? "TLS read failed: injected fault" : "TLS handshake failed: injected fault";
    return fatal();
  }
  // SSL_get_error reads the thread's whole error queue first: an entry left there by anything
  // else on this thread (another session, the application's own OpenSSL calls) would make an
  // ordinary "want more bytes" look like this session's fatal error.
  ERR_clear_error();
  BIO* rbio = SSL_get_rbio(ssl_);
  if (BIO_write(rbio, bytes.data(), static_cast<int>(bytes.size())) !=
      static_cast<int>(bytes.size())) {
    error_ = "TLS buffer write failed";
    return fatal();
  }
  return step(plain, cipher);
}

bool tls_session::send(std::string_view plain, std::string& cipher) {
  if (failed_) return false;
  if (sys::tls_fault(tls_step::send)) {
    error_ = "TLS write failed: injected fault";
    return fatal();
  }
  ERR_clear_error();  // as in receive
  while (!plain.empty()) {
    const int n = SSL_write(ssl_, plain.data(),
                            static_cast<int>(std::min<std::size_t>(plain.size(), 1 << 30)));
    if (n <= 0) {
      error_ = openssl_error("TLS write failed");
      return fatal();
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
    drain(cipher);
  }
  return true;
}

void tls_session::close_notify(std::string& cipher) {
  // After a fatal alert there is no orderly end to announce (RFC 8446 section 6.2).
  if (failed_) return;
  ERR_clear_error();
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();  // and leaves nothing behind on the thread
  drain(cipher);
}

}  // namespace duplex::net
