#include "duplex/http/request.hpp"

namespace duplex::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> find_header(const std::vector<header>& headers,
                                            std::string_view name) noexcept {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::size_t count_header(const std::vector<header>& headers, std::string_view name) noexcept {
  std::size_t n = 0;
  for (const auto& h : headers)
    if (iequals(h.name, name)) ++n;
  return n;
}

std::optional<std::string_view> request::find(std::string_view name) const noexcept {
  return find_header(headers, name);
}

std::size_t request::count(std::string_view name) const noexcept {
  return count_header(headers, name);
}

std::string_view request::path() const noexcept {
  return target.substr(0, target.find('?'));
}

std::string_view request::query() const noexcept {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

}  // namespace duplex::http
