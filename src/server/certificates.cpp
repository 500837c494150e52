// The server's TLS certificates: the list the options name, and reloading it from any thread
// while connections stay open (each TLS session keeps the context it started with).
#include <exception>
#include <mutex>

#include "server_state.hpp"

namespace duplex {
namespace detail {

std::vector<net::tls_certificate> server_state::certificate_list() const {
  std::vector<net::tls_certificate> list;
  if (!opts.tls.cert_file.empty()) list.push_back({opts.tls.cert_file, opts.tls.key_file});
  list.insert(list.end(), opts.certificates.begin(), opts.certificates.end());
  return list;
}

std::shared_ptr<net::tls_context> server_state::current_tls() const {
  std::lock_guard lock(tls_mutex);
  return tls;
}

bool server_state::reload_tls() {
  const auto list = certificate_list();
  if (list.empty()) {
    log("certificate reload: the server has no TLS certificate");
    return false;
  }
  std::shared_ptr<net::tls_context> fresh;
  try {
    fresh = net::tls_context::server(list);  // file reads and parsing, outside the lock
  } catch (const std::exception& e) {
    log(std::string("certificate reload failed, the previous certificates stay: ") + e.what());
    return false;
  }
  {
    std::lock_guard lock(tls_mutex);
    tls.swap(fresh);
  }
  log("certificates reloaded (" + std::to_string(list.size()) + ")");
  return true;  // `fresh` now holds the old context: freed here unless a session still uses it
}

}  // namespace detail

bool server::reload_certificates() {
  return state_->reload_tls();
}

}  // namespace duplex
