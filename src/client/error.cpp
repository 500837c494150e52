#include "duplex/client/error.hpp"

namespace duplex {
namespace {

class client_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "duplex.client"; }
  std::string message(int ev) const override {
    switch (static_cast<client_errc>(ev)) {
      case client_errc::bad_url:
        return "not a ws:// or wss:// URL";
      case client_errc::header_not_allowed:
        return "header not allowed";
      case client_errc::tls_setup:
        return "TLS configuration not usable";
      case client_errc::resolve_failed:
        return "cannot resolve the host";
      case client_errc::connect_failed:
        return "connect failed";
      case client_errc::tls_failed:
        return "TLS handshake failed";
      case client_errc::refused:
        return "the server refused the upgrade";
      case client_errc::bad_handshake:
        return "invalid handshake response";
      case client_errc::closed_early:
        return "connection closed during the handshake";
      case client_errc::open_timeout:
        return "timed out opening the connection";
      case client_errc::proxy_refused:
        return "the proxy refused the tunnel";
      case client_errc::proxy_failed:
        return "the proxy failed or is not usable";
    }
    return "unknown client error";
  }
};

}  // namespace

const std::error_category& client_category() noexcept {
  static const client_category_impl c;
  return c;
}

std::error_code make_error_code(client_errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

}  // namespace duplex
