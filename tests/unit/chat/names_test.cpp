// The rules for nicknames and room names, as docs/chat-protocol.md states them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/names.hpp"

namespace duplex::chat::test {
namespace {

TEST(Names, NicknamesFollowTheDocumentedRules) {
  for (const std::string& ok :
       std::vector<std::string>{"alice", "日本語の名前", "a b", std::string(32, 'x'),
                                std::string("\xC3\xA9") + std::string(31, 'x')}) {
    const auto r = names::validate(ok);
    EXPECT_TRUE(r) << ok;
    EXPECT_EQ(r.name, ok);
  }
  for (const std::string& bad : {std::string(), std::string(33, 'x'), std::string(" alice"),
                                 std::string("alice "), std::string("al\x01ice"),
                                 std::string("al\u202Eice"),  // right-to-left override
                                 std::string("al\u200Bice"),  // zero-width space
                                 std::string("\u0085"),       // C1 control
                                 std::string("\uFEFF"), std::string("x\ny")}) {
    const auto r = names::validate(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_EQ(r.reason, "1 to 32 printable characters");
  }
}

TEST(Names, KeysIgnoreAsciiCase) {
  EXPECT_EQ(names::key("Alice"), names::key("aLiCe"));
  EXPECT_NE(names::key("alice"), names::key("alicia"));
  EXPECT_EQ(names::key("Dé"), "dé");
}

TEST(Names, RoomsAreShortAsciiNamesFoldedToLowerCase) {
  for (const char* ok : {"lobby", "a-b_c", "R0", "x1234567890123456789012345678901"})
    EXPECT_TRUE(names::valid_room(ok)) << ok;
  for (const char* bad :
       {"", "has space", "semi;colon", "../etc", "\xC3\xA9", "x123456789012345678901234567890123"})
    EXPECT_FALSE(names::valid_room(bad)) << bad;
  EXPECT_EQ(names::room_key("Lobby"), "lobby");
}

}  // namespace
}  // namespace duplex::chat::test
