#include "resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

namespace duplex::detail {

// Shared by the resolver and its worker. The worker may outlive the resolver, and the loop
// too once the resolver is gone: it posts only while `loop` is set, under the mutex that
// cancel() takes to clear it, so it never touches a loop that may be destroyed.
struct resolver::ticket {
  std::mutex mutex;
  net::event_loop* loop;
  done_fn done;  // loop thread only
};

resolver::lookup_fn resolver::lookup = &resolver::system_lookup;

namespace {

resolved getaddrinfo_list(const std::string& host, std::uint16_t port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  resolved out;
  if (rc != 0) {
    out.error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return out;
  }
  std::vector<net::address> all;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(net::address::storage)) continue;
    net::address a;
    std::memcpy(a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = static_cast<std::uint32_t>(ai->ai_addrlen);
    all.push_back(a);
  }
  ::freeaddrinfo(res);
  out.addresses = interleave_families(std::move(all));
  if (out.addresses.empty()) out.error = "cannot resolve " + host + ": no address";
  return out;
}

bool is_numeric(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::vector<net::address> interleave_families(std::vector<net::address> in) {
  std::vector<net::address> v6, v4, out;
  for (const auto& a : in)
    (a.family() == AF_INET6 ? v6 : v4).push_back(a);
  for (std::size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
    if (i < v6.size()) out.push_back(v6[i]);
    if (i < v4.size()) out.push_back(v4[i]);
  }
  return out;
}

resolved resolver::system_lookup(const std::string& host, std::uint16_t port) {
  return getaddrinfo_list(host, port, 0);
}

void resolver::start(const std::string& host, std::uint16_t port, done_fn done) {
  cancel();
  auto t = std::make_shared<ticket>();
  t->loop = &loop_;
  t->done = std::move(done);
  ticket_ = t;
  const auto deliver = [t](resolved r) {
    // Runs on the loop thread: a cancel() since then has emptied `done`.
    return [t, r = std::move(r)]() mutable {
      if (auto fn = std::exchange(t->done, nullptr)) fn(std::move(r));
    };
  };
  if (is_numeric(host)) {
    loop_.post(deliver(getaddrinfo_list(host, port, AI_NUMERICHOST)));
    return;
  }
  try {
    std::thread([t, deliver, host, port] {
      resolved r = lookup(host, port);
      std::lock_guard lock(t->mutex);
      if (t->loop != nullptr) t->loop->post(deliver(std::move(r)));
    }).detach();
  } catch (const std::system_error& e) {
    loop_.post(deliver({{}, "cannot resolve " + host + ": no thread for it (" + e.what() + ")"}));
  }
}

void resolver::cancel() noexcept {
  if (!ticket_) return;
  {
    std::lock_guard lock(ticket_->mutex);
    ticket_->loop = nullptr;
  }
  ticket_->done = nullptr;
  ticket_.reset();
}

}  // namespace duplex::detail
