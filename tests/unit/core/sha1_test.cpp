#include "duplex/core/sha1.hpp"

#include <gtest/gtest.h>

#include "duplex/core/base64.hpp"

namespace duplex::core {
namespace {

std::string hex(const sha1_digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : d) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

TEST(Sha1, KnownDigests) {
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Sha1, Rfc6455AcceptExample) {
  // RFC 6455 section 1.3.
  const auto d = sha1("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  EXPECT_EQ(base64_encode({reinterpret_cast<const char*>(d.data()), d.size()}),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace duplex::core
