#include "duplex/core/random.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace duplex::core {
namespace {

TEST(Random, DrawsDoNotRepeat) {
  system_random rng;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::array<std::byte, 4> key{};
    rng.fill(key);
    seen.emplace(reinterpret_cast<const char*>(key.data()), key.size());
  }
  // 1000 draws of 32 bits: a repeat has probability about 1e-4.
  EXPECT_GE(seen.size(), 999u);
}

TEST(Random, FillsRequestsLargerThanThePool) {
  system_random rng;
  std::vector<std::byte> big(4096);
  rng.fill(big);
  std::size_t zeros = 0;
  for (auto b : big)
    zeros += b == std::byte{0};
  EXPECT_LT(zeros, 64u);  // about 16 expected
}

}  // namespace
}  // namespace duplex::core
