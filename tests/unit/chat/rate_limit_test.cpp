// The token bucket behind the chat's rate limit.
#include <gtest/gtest.h>

#include "src/rate_limit.hpp"

namespace duplex::chat::test {
namespace {

using verdict = token_bucket::verdict;

TEST(TokenBucket, ABurstPassesThenRequestsAreRefused) {
  token_bucket b(1, 3, 0);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(b.take(0), verdict::pass) << i;
  EXPECT_EQ(b.take(0), verdict::refuse);
}

TEST(TokenBucket, TokensComeBackAtTheRateUpToTheBurst) {
  token_bucket b(2, 4, 0);
  for (int i = 0; i < 4; ++i)
    b.take(0);
  EXPECT_EQ(b.take(499), verdict::refuse);  // 0.998 of a token back, less the one refused
  EXPECT_EQ(b.take(1500), verdict::pass);   // two more came, the debt of one is paid
  EXPECT_EQ(b.take(1500), verdict::refuse);
  EXPECT_EQ(b.take(1'000'000), verdict::pass);  // a long pause gives the burst, not more
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(b.take(1'000'000), verdict::pass);
  EXPECT_EQ(b.take(1'000'000), verdict::refuse);
}

TEST(TokenBucket, ADebtOfTheBurstClosesTheSender) {
  token_bucket b(1, 3, 0);
  int refused = 0;
  verdict v = verdict::pass;
  for (int i = 0; i < 100 && v != verdict::close; ++i) {
    v = b.take(0);
    refused += v == verdict::refuse;
  }
  EXPECT_EQ(v, verdict::close);
  EXPECT_EQ(refused, 2);  // the debt reached -3 on the third refusal: that one closes
}

TEST(TokenBucket, AClockSetBackRefillsNothing) {
  token_bucket b(1, 2, 10'000);
  b.take(10'000);
  b.take(10'000);
  EXPECT_EQ(b.take(0), verdict::refuse);
  EXPECT_EQ(b.take(2'000), verdict::pass);  // time passes again from where the clock is now
}

}  // namespace
}  // namespace duplex::chat::test
