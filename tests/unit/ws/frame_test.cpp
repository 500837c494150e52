#include "duplex/ws/frame.hpp"

#include <gtest/gtest.h>

#include "support/frames.hpp"

namespace duplex::ws {
namespace {

TEST(Frame, HeaderUsesTheMinimalLengthForm) {
  for (std::uint64_t n : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32}) {
    char h[max_header_size];
    const auto size = write_header(h, true, opcode::binary, n);
    EXPECT_EQ(size, header_size(n, false)) << n;
    EXPECT_EQ(size, n < 126 ? 2u : n <= 65535 ? 4u : 10u) << n;
    // Cross-check against the independent test encoder for sizes we can build.
    if (n <= 65536) {
      const std::string ref = test::frame(test::fin | test::op_binary, std::string(n, 'x'), false);
      EXPECT_EQ(std::string(h, size), ref.substr(0, size)) << n;
    }
  }
}

TEST(Frame, MaskedHeaderCarriesTheKey) {
  char h[max_header_size];
  const mask_key key{1, 2, 3, 4};
  const auto size = write_header(h, false, opcode::text, 300, &key, 0x40);
  ASSERT_EQ(size, 8u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x41);  // RSV1 + text, no FIN
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 0x80 | 126);
  EXPECT_EQ(std::string(h + 4, 4), std::string("\1\2\3\4", 4));
}

TEST(Frame, OpcodeClasses) {
  EXPECT_TRUE(is_control(opcode::close));
  EXPECT_TRUE(is_control(opcode::ping));
  EXPECT_FALSE(is_control(opcode::text));
  for (std::uint8_t op = 0; op < 16; ++op)
    EXPECT_EQ(is_known(op), op <= 2 || (op >= 8 && op <= 10)) << int(op);
}

}  // namespace
}  // namespace duplex::ws
