// Password rules (length only, NFKC) and Argon2id hashing.
#include <gtest/gtest.h>

#include "src/passwords.hpp"

namespace duplex::chat {
namespace {

password_problem check(std::string_view raw, std::string* out = nullptr,
                       std::string_view name = {}) {
  std::string prepared;
  const auto p = prepare_password(raw, password_rules{}, name, prepared);
  if (out) *out = prepared;
  return p;
}

TEST(PasswordRules, LengthIsTheOnlyRule) {
  EXPECT_EQ(check("1234567"), password_problem::too_short);
  EXPECT_EQ(check("12345678"), password_problem::none);
  EXPECT_EQ(check("aaaaaaaa"), password_problem::none);                      // no composition rules
  EXPECT_EQ(check("correct horse battery staple"), password_problem::none);  // spaces are fine
  EXPECT_EQ(check(std::string(256, 'x')), password_problem::none);
  EXPECT_EQ(check(std::string(257, 'x')), password_problem::too_long);
}

TEST(PasswordRules, CountsCodePointsNotBytes) {
  EXPECT_EQ(check("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"), password_problem::too_short);
  EXPECT_EQ(check("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"), password_problem::none);
  EXPECT_EQ(check("\U0001F511\U0001F511\U0001F511\U0001F511\U0001F511\U0001F511\U0001F511"
                  "\U0001F511"),
            password_problem::none);
}

TEST(PasswordRules, TheSamePasswordTypedTwoWaysIsTheSame) {
  std::string composed, decomposed, fullwidth, ascii;
  ASSERT_EQ(check("caf\u00e9-caf\u00e9", &composed), password_problem::none);
  ASSERT_EQ(check("cafe\u0301-cafe\u0301", &decomposed), password_problem::none);
  EXPECT_EQ(composed, decomposed);
  ASSERT_EQ(check("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", &fullwidth),
            password_problem::none);
  ASSERT_EQ(check("password", &ascii), password_problem::none);
  EXPECT_EQ(fullwidth, ascii);
}

TEST(PasswordRules, RefusesWhatIsNotText) {
  EXPECT_EQ(check("abc\xff\xfe"
                  "defgh"),
            password_problem::not_text);                                       // not UTF-8
  EXPECT_EQ(check("abcdefgh\x01"), password_problem::not_text);                // a control
  EXPECT_EQ(check(std::string("abcd\0efgh", 9)), password_problem::not_text);  // NUL
  EXPECT_EQ(check("abcdefgh\xed\xa0\x80"), password_problem::not_text);        // a surrogate
  EXPECT_EQ(check("abcdefgh\U000E0080"), password_problem::not_text);          // unassigned
}

TEST(PasswordRules, RefusesTheUsersOwnName) {
  EXPECT_EQ(check("Alexandra", nullptr, "alexandra"), password_problem::same_as_name);
  EXPECT_EQ(check("alexandra1", nullptr, "alexandra"), password_problem::none);
}

TEST(PasswordHash, Argon2idThatVerifiesOnlyTheRightPassword) {
  const auto h = hash_password("correct horse", hash_cost::minimum());
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$argon2id$")) << *h;
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(*h, "correct horsf"));
  EXPECT_FALSE(verify_password(*h, ""));
  EXPECT_FALSE(verify_password("garbage", "correct horse"));
  EXPECT_FALSE(verify_password(std::string(1000, '$'), "correct horse"));
  // Salted: the same password twice gives two hashes.
  EXPECT_NE(*h, *hash_password("correct horse", hash_cost::minimum()));
}

TEST(PasswordHash, NeedsRehashWhenTheCostChanges) {
  const auto min = hash_cost::minimum();
  const hash_cost more{min.ops + 1, min.mem};
  const auto h = hash_password("correct horse", min);
  ASSERT_TRUE(h);
  EXPECT_FALSE(needs_rehash(*h, min));
  EXPECT_TRUE(needs_rehash(*h, more));
  EXPECT_TRUE(needs_rehash("not a hash", min));
  const auto interactive = hash_cost::interactive();
  EXPECT_EQ(interactive.mem, 64u << 20);
}

}  // namespace
}  // namespace duplex::chat
