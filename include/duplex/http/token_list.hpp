// Comma-separated token lists (RFC 9110 section 5.6.1) such as Connection and Upgrade.
#pragma once

#include <string_view>

namespace duplex::http {

/// Calls fn(token) for each non-empty element, trimmed of optional whitespace. Linear, no
/// allocation. Returns false early if fn returns false.
template <class Fn>
bool for_each_token(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (!item.empty() && !fn(item)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

/// True when the list holds `token`, compared without regard to case.
bool has_token(std::string_view list, std::string_view token) noexcept;

}  // namespace duplex::http
