#include "duplex/ws/mask.hpp"

#include <gtest/gtest.h>

#include <string>

namespace duplex::ws {
namespace {

std::string reference(std::string s, mask_key key, std::size_t phase) {
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] ^= static_cast<char>(key[(phase + i) % 4]);
  return s;
}

TEST(Mask, MatchesBytewiseMaskingForEverySizeAndPhase) {
  const mask_key key{0xDE, 0xAD, 0xBE, 0xEF};
  for (std::size_t n = 0; n < 100; ++n) {
    for (std::size_t phase = 0; phase < 4; ++phase) {
      std::string data;
      for (std::size_t i = 0; i < n; ++i)
        data += static_cast<char>(i * 7 + 3);
      std::string got = data;
      EXPECT_EQ(apply_mask(got.data(), n, key, phase), (phase + n) % 4);
      EXPECT_EQ(got, reference(data, key, phase)) << n << "/" << phase;
    }
  }
}

TEST(Mask, MaskingInPiecesEqualsMaskingWhole) {
  const mask_key key{1, 2, 3, 4};
  std::string data(1000, 'q');
  const std::string whole = reference(data, key, 0);
  for (std::size_t cut : {1u, 3u, 5u, 8u, 33u, 999u}) {
    std::string s = data;
    std::size_t phase = apply_mask(s.data(), cut, key, 0);
    apply_mask(s.data() + cut, s.size() - cut, key, phase);
    EXPECT_EQ(s, whole) << cut;
  }
}

TEST(Mask, UnalignedStart) {
  const mask_key key{9, 8, 7, 6};
  std::string buf(77, 'z');
  std::string expect = buf;
  expect.replace(3, 70, reference(buf.substr(3, 70), key, 2));
  apply_mask(buf.data() + 3, 70, key, 2);
  EXPECT_EQ(buf, expect);
}

}  // namespace
}  // namespace duplex::ws
