// A blocking TLS client for server tests, on plain OpenSSL: any SNI name, a look at the
// certificate the server presented, and keep-alive requests over the one connection.
#pragma once

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "support/loopback_listener.hpp"

namespace duplex::test {

// One blocking TLS connection to the server, with the SNI name it was given.
class tls_peer {
 public:
  // `preamble`: bytes sent in the clear before the handshake (a PROXY header).
  tls_peer(std::uint16_t port, const std::string& sni, std::string_view preamble = {}) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    fd_ = connect_loopback(port);
    if (fd_ >= 0 && !preamble.empty()) ::send(fd_, preamble.data(), preamble.size(), MSG_NOSIGNAL);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!sni.empty())  // SSL_set_tlsext_host_name without its C cast
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(sni.c_str()));
    ok_ = fd_ >= 0 && SSL_connect(ssl_) == 1;
  }
  ~tls_peer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  // Whether the certificate the server presented is the one in `pem_file`.
  bool presented(const std::string& pem_file) const {
    X509* peer = SSL_get1_peer_certificate(ssl_);
    FILE* f = std::fopen(pem_file.c_str(), "r");
    X509* want = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
    if (f) std::fclose(f);
    const bool same = peer && want && X509_cmp(peer, want) == 0;
    X509_free(peer);
    X509_free(want);
    return same;
  }
  // One keep-alive request on this connection; the body of the answer ("" on failure).
  std::string get(const std::string& path) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return {};
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos || !in.ends_with("\n")) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return {};
      in.append(buf, static_cast<std::size_t>(n));
    }
    return in.substr(in.find("\r\n\r\n") + 4);
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace duplex::test
