#include "duplex/http/token_list.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace duplex::http {
namespace {

TEST(TokenList, FindsTokensWithoutRegardToCaseOrSpacing) {
  EXPECT_TRUE(has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(has_token(" ,, UPGRADE\t,", "upgrade"));
  EXPECT_FALSE(has_token("upgraded", "upgrade"));
  EXPECT_FALSE(has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(has_token("", "upgrade"));
}

TEST(TokenList, VisitsEveryElementInOrder) {
  std::vector<std::string> seen;
  for_each_token("a, b ,,c\t", [&](std::string_view t) {
    seen.emplace_back(t);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace duplex::http
