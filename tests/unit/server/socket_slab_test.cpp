// The slab that holds a loop's sockets: objects made and destroyed in any order, every live one
// walked once, emptied blocks given back, a constructor that throws leaving its slot free.
#include "server/socket_slab.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

namespace duplex::detail {
namespace {

struct thing {
  explicit thing(int v, int* alive) : value(v), alive_(alive) {
    if (v < 0) throw std::runtime_error("refused");
    ++*alive_;
  }
  ~thing() { --*alive_; }
  int value;
  int* alive_;
  char payload[200];  // about a socket's size
};

std::multiset<int> walk(slab<thing>& s) {
  std::multiset<int> seen;
  s.for_each([&](thing& t) { seen.insert(t.value); });
  return seen;
}

TEST(Slab, MakesDestroysAndWalksInAnyOrder) {
  int alive = 0;
  {
    slab<thing> s;
    std::vector<thing*> made;
    std::multiset<int> expect;
    std::mt19937 rng(7);
    for (int round = 0; round < 2000; ++round) {
      if (made.empty() || rng() % 3 != 0) {
        made.push_back(s.make(round, &alive));
        expect.insert(round);
      } else {
        const std::size_t i = rng() % made.size();
        expect.erase(expect.find(made[i]->value));
        s.destroy(made[i]);
        made[i] = made.back();
        made.pop_back();
      }
      ASSERT_EQ(s.size(), made.size());
      ASSERT_EQ(alive, static_cast<int>(made.size()));
    }
    EXPECT_EQ(walk(s), expect);
    for (thing* t : made)
      EXPECT_EQ(std::count(made.begin(), made.end(), t), 1) << "one slot per object";
    for (thing* t : made)
      s.destroy(t);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(s.blocks(), 1u) << "emptied blocks are given back, one is kept";
  }
  EXPECT_EQ(alive, 0);
}

TEST(Slab, AThrowingConstructorLeavesItsSlotFree) {
  int alive = 0;
  slab<thing> s;
  thing* a = s.make(1, &alive);
  EXPECT_THROW(s.make(-1, &alive), std::runtime_error);
  EXPECT_EQ(s.size(), 1u);
  thing* b = s.make(2, &alive);
  EXPECT_EQ(walk(s), (std::multiset<int>{1, 2}));
  s.destroy(a);
  s.destroy(b);
  EXPECT_EQ(alive, 0);
}

TEST(Slab, FillsAndEmptiesManyBlocks) {
  int alive = 0;
  slab<thing> s;
  std::vector<thing*> made;
  for (int i = 0; i < 1000; ++i)
    made.push_back(s.make(i, &alive));
  EXPECT_EQ(s.blocks(), (1000 + slab<thing>::per_block - 1) / slab<thing>::per_block);
  for (std::size_t i = 0; i < made.size(); i += 2)  // every other one: no block empties
    s.destroy(made[i]);
  EXPECT_EQ(walk(s).size(), 500u);
  for (int i = 0; i < 500; ++i)  // the holes are reused before a new block is made
    made[static_cast<std::size_t>(i) * 2] = s.make(i, &alive);
  EXPECT_EQ(s.blocks(), (1000 + slab<thing>::per_block - 1) / slab<thing>::per_block);
  for (thing* t : made)
    s.destroy(t);
  EXPECT_EQ(alive, 0);
}

}  // namespace
}  // namespace duplex::detail
