// Feeds test inputs the three ways every parser test uses: whole, cut at every offset, and
// byte by byte. A parser must produce the same result for all of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace duplex::test {

using pieces = std::vector<std::string>;

inline std::vector<pieces> all_splits(std::string_view input) {
  std::vector<pieces> out;
  out.push_back({std::string(input)});
  for (std::size_t cut = 1; cut < input.size(); ++cut)
    out.push_back({std::string(input.substr(0, cut)), std::string(input.substr(cut))});
  pieces bytes;
  for (char c : input)
    bytes.emplace_back(1, c);
  if (input.size() > 1) out.push_back(bytes);
  return out;
}

inline std::string describe(const pieces& p) {
  if (p.size() == 1) return "whole";
  if (p.size() == 2) return "split at " + std::to_string(p[0].size());
  return "byte by byte";
}

}  // namespace duplex::test
