#include "net/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace duplex::net {
namespace {

// A deadline owner as a socket is one: a node and what it was armed for.
struct item {
  wheel_node node;
  std::uint64_t due = 0;
  std::uint64_t fired_at = 0;
  int fired = 0;
};

item& owner(wheel_node& n) {
  return *reinterpret_cast<item*>(reinterpret_cast<char*>(&n) - offsetof(item, node));
}

// Steps the clock by `step` ms from `from` to `to`, recording when each node comes out.
void run(timer_wheel& w, std::uint64_t from, std::uint64_t to, std::uint64_t step = 1) {
  for (std::uint64_t t = from; t <= to; t += step) {
    w.advance(t, [&](wheel_node& n) {
      item& it = owner(n);
      it.fired_at = t;
      ++it.fired;
    });
  }
}

TEST(TimerWheel, FiresAtItsTickNeverBefore) {
  timer_wheel w(10);
  item a;
  a.due = 1005;
  w.advance(1000, [](wheel_node&) {});
  w.arm(a.node, a.due);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_turn(), 1010u);  // the tick after the due time, at resolution 10
  run(w, 1001, 1009);
  EXPECT_EQ(a.fired, 0);
  run(w, 1010, 1100);
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(a.fired_at, 1010u);
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(a.node.armed());
  EXPECT_EQ(w.next_turn(), 0u);
}

TEST(TimerWheel, CancelledNodeNeverFires) {
  timer_wheel w(1);
  item a, b;
  w.arm(a.node, 50);
  w.arm(b.node, 50);
  w.cancel(a.node);
  w.cancel(a.node);  // twice is harmless
  EXPECT_EQ(w.size(), 1u);
  run(w, 0, 200);
  EXPECT_EQ(a.fired, 0);
  EXPECT_EQ(b.fired, 1);
}

TEST(TimerWheel, RearmMovesTheNodeBothWays) {
  timer_wheel w(1, 64);
  item a;
  w.arm(a.node, 100);
  w.arm(a.node, 30);  // earlier
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(w.earlier(a.node, 20));
  EXPECT_FALSE(w.earlier(a.node, 40));
  run(w, 0, 30);
  EXPECT_EQ(a.fired_at, 30u);
  w.arm(a.node, 60);
  w.arm(a.node, 90);  // later
  run(w, 31, 300);
  EXPECT_EQ(a.fired, 2);
  EXPECT_EQ(a.fired_at, 90u);
}

TEST(TimerWheel, WrapsAroundForDeadlinesBeyondOneRevolution) {
  timer_wheel w(1, 64);  // one revolution is 64 ms
  item near, far;
  w.arm(near.node, 10);
  w.arm(far.node, 10 + 64 * 3);  // the same slot, three revolutions later
  run(w, 0, 100);
  EXPECT_EQ(near.fired_at, 10u);
  EXPECT_EQ(far.fired, 0);
  run(w, 101, 400);
  EXPECT_EQ(far.fired, 1);
  EXPECT_EQ(far.fired_at, 10u + 64 * 3);
}

TEST(TimerWheel, CatchesUpAfterALongGap) {
  timer_wheel w(1, 64);
  std::vector<item> items(200);
  for (std::size_t i = 0; i < items.size(); ++i)
    w.arm(items[i].node, 1 + i * 7);
  run(w, 5000, 5000);  // one call, far past every due time and many revolutions
  for (const item& it : items)
    EXPECT_EQ(it.fired, 1);
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, ManyNodesInOneSlot) {
  timer_wheel w(4, 64);
  std::vector<item> items(10'000);
  for (std::size_t i = 0; i < items.size(); ++i)
    w.arm(items[i].node, 100 + (i % 4));  // all in tick 25 or 26
  EXPECT_EQ(w.size(), items.size());
  run(w, 0, 99);
  EXPECT_EQ(w.size(), items.size());
  run(w, 100, 104);
  for (const item& it : items)
    ASSERT_EQ(it.fired, 1);
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, FiringOrderIsWithinOneTick) {
  constexpr std::uint64_t res = 8;
  timer_wheel w(res, 128);
  std::mt19937 rng(16);
  std::vector<item> items(5000);
  for (item& it : items) {
    it.due = rng() % 5000;  // many revolutions
    w.arm(it.node, it.due);
  }
  run(w, 0, 6000);
  for (const item& it : items) {
    ASSERT_EQ(it.fired, 1);
    ASSERT_GE(it.fired_at, it.due);
    ASSERT_LT(it.fired_at, it.due + res);
  }
}

TEST(TimerWheel, FireMayRearmAndCancelNodesOfItsOwnSlot) {
  timer_wheel w(1, 64);
  item a, b, c;
  w.arm(a.node, 10);
  w.arm(b.node, 10);
  w.arm(c.node, 10);
  int calls = 0;
  w.advance(10, [&](wheel_node& n) {
    ++calls;
    if (&n == &a.node) {
      w.arm(a.node, 10);       // itself, for a time already passed: the next turn
      w.cancel(b.node);        // a node still waiting in the slot being turned
      w.arm(c.node, 10 + 64);  // another, a revolution later
    }
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(a.node.armed());
  EXPECT_FALSE(b.node.armed());
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.next_turn(), 11u);
  run(w, 11, 11);
  EXPECT_EQ(a.fired, 1);
  run(w, 12, 200);
  EXPECT_EQ(c.fired, 1);
  EXPECT_EQ(c.fired_at, 74u);
  EXPECT_EQ(b.fired, 0);
}

TEST(TimerWheel, NextTurnFindsTheEarliestBusySlotAcrossTheWrap) {
  timer_wheel w(1, 128);
  run(w, 0, 100);  // the cursor is at tick 101, slot 101
  item a, b;
  w.arm(a.node, 130);  // slot 2 after the wrap
  EXPECT_EQ(w.next_turn(), 130u);
  w.arm(b.node, 110);
  EXPECT_EQ(w.next_turn(), 110u);
  w.cancel(b.node);
  EXPECT_EQ(w.next_turn(), 130u);
  w.cancel(a.node);
  EXPECT_EQ(w.next_turn(), 0u);
}

}  // namespace
}  // namespace duplex::net
