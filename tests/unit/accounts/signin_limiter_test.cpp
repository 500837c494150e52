// Sign-in limits: per account and per address, answering how long to wait, in bounded tables.
#include <gtest/gtest.h>

#include "src/signin_limiter.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;

signin_limits small() {
  signin_limits l;
  l.account = {3, 10s};
  l.address = {5, 1s};
  l.max_tracked = 100;
  return l;
}

TEST(SigninLimiter, AnAccountGetsItsBurstThenOneAttemptPerPeriod) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  // From three addresses, so only the account's limit binds.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(lim.attempt("7", "10.0.0." + std::to_string(i), t), 0ms) << i;
  EXPECT_EQ(lim.attempt("7", "10.0.0.9", t), 10s);
  EXPECT_EQ(lim.attempt("7", "10.0.0.9", t + 4s), 6s);
  EXPECT_EQ(lim.attempt("7", "10.0.0.9", t + 10s), 0ms);
  EXPECT_GT(lim.attempt("7", "10.0.0.9", t + 10s), 0ms);
  EXPECT_EQ(lim.attempt("8", "10.0.0.9", t + 10s), 0ms);  // another account is unaffected
}

TEST(SigninLimiter, AnAddressIsLimitedAcrossAccounts) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(lim.attempt(std::to_string(i), "10.0.0.1", t), 0ms) << i;
  EXPECT_EQ(lim.attempt("99", "10.0.0.1", t), 1s);
  EXPECT_EQ(lim.attempt("", "10.0.0.1", t), 1s);  // an unknown name too
  EXPECT_EQ(lim.attempt("", "10.0.0.2", t), 0ms);
  EXPECT_EQ(lim.attempt("", "10.0.0.1", t + 1s), 0ms);
}

TEST(SigninLimiter, ARefusedAttemptChargesNothing) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  for (int i = 0; i < 3; ++i)
    lim.attempt("7", "10.0.0.1", t);
  for (int i = 0; i < 50; ++i)
    EXPECT_GT(lim.attempt("7", "10.0.0.1", t + 5s), 0ms);
  EXPECT_EQ(lim.attempt("7", "10.0.0.1", t + 10s), 0ms);
  // The address was charged three times, not fifty-three.
  EXPECT_EQ(lim.attempt("8", "10.0.0.1", t + 10s), 0ms);
}

TEST(SigninLimiter, SuccessGivesTheAccountsTokenBackButNotTheAddresss) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(lim.attempt("7", "10.0.0.1", t), 0ms) << i;
    lim.succeeded("7", "10.0.0.1", t);
  }
  EXPECT_EQ(lim.attempt("8", "10.0.0.1", t), 1s);  // the address spent its five
  EXPECT_EQ(lim.attempt("7", "10.0.0.2", t), 0ms);
  lim.cancel("7", "10.0.0.2", t);
  EXPECT_EQ(lim.attempt("7", "10.0.0.2", t), 0ms);
}

TEST(SigninLimiter, AStrangerCannotLockAUserOutWhereTheySignedInBefore) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  ASSERT_EQ(lim.attempt("7", "10.0.0.1", t), 0ms);
  lim.succeeded("7", "10.0.0.1", t);  // alice, at home
  for (int i = 0; i < 50; ++i)
    lim.attempt("7", "10.0.0." + std::to_string(100 + i), t);  // guesses from everywhere
  EXPECT_GT(lim.attempt("7", "10.0.0.2", t), 0ms) << "a new address waits";
  EXPECT_EQ(lim.attempt("7", "10.0.0.1", t), 0ms) << "alice at home does not";
  // The known address has a bucket of its own: guessing from there is limited too.
  for (int i = 0; i < 10; ++i)
    lim.attempt("7", "10.0.0.1", t);
  EXPECT_GT(lim.attempt("7", "10.0.0.1", t), 0ms);
}

TEST(SigninLimiter, TablesStayBoundedAndForgetTheLeastRecentlyUsed) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  for (int i = 0; i < 3; ++i)
    lim.attempt("victim", "10.0.0.1", t);
  ASSERT_GT(lim.attempt("victim", "10.0.0.2", t), 0ms);
  for (int i = 0; i < 10'000; ++i) {
    lim.attempt("a" + std::to_string(i), "addr" + std::to_string(i), t);
    ASSERT_LE(lim.tracked_accounts(), 100u);
    ASSERT_LE(lim.tracked_addresses(), 100u);
  }
  EXPECT_EQ(lim.tracked_accounts(), 100u);
  // Forgotten after 10,000 newer keys: it starts full again (the price of the bound).
  EXPECT_EQ(lim.attempt("victim", "10.0.0.3", t), 0ms);
}

TEST(SigninLimiter, RecentlyUsedEntriesAreKept) {
  signin_limits l = small();
  l.max_tracked = 2;
  signin_limiter lim(l);
  const auto t = limiter_clock::now();
  for (int i = 0; i < 3; ++i)
    lim.attempt("kept", "x" + std::to_string(i), t);
  lim.attempt("other1", "y1", t);
  ASSERT_GT(lim.attempt("kept", "z", t), 0ms);  // used again: now the most recent
  lim.attempt("other2", "y2", t);               // evicts other1, not "kept"
  EXPECT_GT(lim.attempt("kept", "z2", t), 0ms);
}

TEST(SigninLimiter, LongKeysAreCut) {
  signin_limiter lim(small());
  const auto t = limiter_clock::now();
  const std::string a(10'000, 'a');
  for (int i = 0; i < 5; ++i)
    lim.attempt("", a + std::to_string(i), t);  // the same first 256 bytes: one entry
  EXPECT_EQ(lim.tracked_addresses(), 1u);
  EXPECT_GT(lim.attempt("", a, t), 0ms);
}

}  // namespace
}  // namespace duplex::chat
