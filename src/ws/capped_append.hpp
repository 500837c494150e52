// Appending to a message buffer that must not grow past the message limit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace duplex::ws::detail {

// Growth stays geometric, so copies stay in proportion to the bytes appended, but capacity
// stops at `cap` (once the size is within it): doubling alone can leave a message of the limit
// in a buffer of nearly twice the limit. Returns the bytes copied, old contents moved included.
inline std::size_t append_capped(std::string& out, std::string_view more, std::size_t cap) {
  std::size_t copied = more.size();
  const std::size_t need = out.size() + more.size();
  if (need > out.capacity()) {
    // A fresh string: reserve() on the old one would round up to twice its capacity again.
    std::string bigger;
    bigger.reserve(std::max(need, std::min(cap, 2 * out.capacity())));
    bigger.append(out);
    copied += out.size();
    out.swap(bigger);
  }
  out.append(more);
  return copied;
}

}  // namespace duplex::ws::detail
