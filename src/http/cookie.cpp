#include "duplex/http/cookie.hpp"

#include "duplex/http/request.hpp"

namespace duplex::http {

std::optional<std::string_view> find_cookie(const std::vector<header>& headers,
                                            std::string_view name) noexcept {
  for (const auto& h : headers) {
    if (!iequals(h.name, "Cookie")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ')
        pair.remove_prefix(1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

}  // namespace duplex::http
