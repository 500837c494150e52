// room_feed on its own: every ordering the store can produce (gaps, duplicates, appends answered
// before or after their message, reads that fail, resyncs) and what the feed says to do.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/room_feed.hpp"

namespace duplex::chat::test {
namespace {

using strings = std::vector<std::string>;

stored_message msg(std::int64_t id) {
  return {"r", id, "ann", "m" + std::to_string(id), 0};
}

std::vector<stored_message> msgs(std::initializer_list<std::int64_t> ids) {
  std::vector<stored_message> out;
  for (auto id : ids)
    out.push_back(msg(id));
  return out;
}

// Actions as text, checking on the way that a fetch, if any, is the one last action.
strings said(const room_feed::actions& actions) {
  strings out;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const auto& a = actions[i];
    if (auto* d = std::get_if<room_feed::deliver>(&a)) {
      out.push_back("deliver " + std::to_string(d->message.id));
    } else if (auto* k = std::get_if<room_feed::ack>(&a)) {
      out.push_back("ack " + std::to_string(k->id) + " to " + std::to_string(k->sender) + " " +
                    k->ref);
    } else if (auto* f = std::get_if<room_feed::fetch>(&a)) {
      const std::string end = f->up_to == room_feed::to_the_end ? "end" : std::to_string(f->up_to);
      out.push_back("fetch (" + std::to_string(f->after_id) + ", " + end + "] limit " +
                    std::to_string(f->limit));
      EXPECT_EQ(i + 1, actions.size()) << "a fetch must come last";
    }
  }
  return out;
}

TEST(RoomFeed, InOrderMessagesGoOutAtOnceAndDuplicatesNever) {
  room_feed f;
  EXPECT_EQ(said(f.open(0)), strings{});
  EXPECT_EQ(said(f.message(msg(1))), strings{"deliver 1"});
  EXPECT_EQ(said(f.message(msg(2))), strings{"deliver 2"});
  EXPECT_EQ(said(f.message(msg(2))), strings{});
  EXPECT_EQ(said(f.message(msg(1))), strings{});
  EXPECT_EQ(f.delivered_id(), 2);
  EXPECT_FALSE(f.busy());
}

TEST(RoomFeed, BeforeOpenMessagesWaitAndThoseTheStoreHadAreDropped) {
  room_feed f;
  EXPECT_FALSE(f.ready());
  EXPECT_EQ(said(f.message(msg(3))), strings{});
  EXPECT_EQ(said(f.message(msg(4))), strings{});
  EXPECT_EQ(said(f.resync()), strings{});  // nothing to catch up with before the last id
  // The last id was read after message 3 was stored: 3 is in the joiners' history already.
  EXPECT_EQ(said(f.open(3)), strings{"deliver 4"});
  EXPECT_EQ(said(f.open(9)), strings{});  // opens once
  EXPECT_EQ(f.delivered_id(), 4);
}

TEST(RoomFeed, AGapIsReadBackBeforeAnythingAfterIt) {
  room_feed f;
  f.open(0);
  EXPECT_EQ(said(f.message(msg(1))), strings{"deliver 1"});
  EXPECT_EQ(said(f.message(msg(4))), strings{"fetch (1, 3] limit 500"});
  EXPECT_TRUE(f.filling());
  EXPECT_TRUE(f.busy());
  EXPECT_EQ(said(f.message(msg(5))), strings{});  // waits behind the read
  EXPECT_EQ(said(f.message(msg(3))), strings{});  // the feed found its late message
  EXPECT_EQ(said(f.filled(true, msgs({2, 3}))),
            (strings{"deliver 2", "deliver 3", "deliver 4", "deliver 5"}));
  EXPECT_FALSE(f.filling());
  EXPECT_EQ(f.held(), 0u);
}

TEST(RoomFeed, IdsTheStoreDoesNotHaveAreSkipped) {
  room_feed f;
  f.open(0);
  // Ids 1 and 2 were failed writes, or pruned: range() is authoritative.
  EXPECT_EQ(said(f.message(msg(3))), strings{"fetch (0, 2] limit 500"});
  EXPECT_EQ(said(f.filled(true, {})), strings{"deliver 3"});
  EXPECT_EQ(said(f.message(msg(5))), strings{"fetch (3, 4] limit 500"});
  EXPECT_EQ(said(f.filled(true, msgs({4}))), (strings{"deliver 4", "deliver 5"}));
}

TEST(RoomFeed, AFailedReadIsRetriedByTheNextMessage) {
  room_feed f;
  f.open(0);
  EXPECT_EQ(said(f.message(msg(2))), strings{"fetch (0, 1] limit 500"});
  EXPECT_EQ(said(f.filled(false, {})), strings{});
  EXPECT_FALSE(f.filling());
  EXPECT_EQ(said(f.message(msg(3))), strings{"fetch (0, 1] limit 500"});
  EXPECT_EQ(said(f.filled(true, msgs({1}))), (strings{"deliver 1", "deliver 2", "deliver 3"}));
}

TEST(RoomFeed, AFailedReadIsRetriedByAResync) {
  room_feed f;
  f.open(0);
  f.message(msg(2));
  f.filled(false, {});
  EXPECT_EQ(said(f.resync()), strings{"fetch (0, end] limit 500"});
  EXPECT_EQ(said(f.resync()), strings{});  // one read at a time
  EXPECT_EQ(said(f.filled(true, msgs({1, 2, 3}))),
            (strings{"deliver 1", "deliver 2", "deliver 3"}));
  EXPECT_EQ(f.held(), 0u);  // the held 2 went with the read
}

TEST(RoomFeed, AResyncReadsEverythingNewerInPages) {
  room_feed f(2);
  f.open(0);
  EXPECT_EQ(said(f.resync()), strings{"fetch (0, end] limit 2"});
  EXPECT_EQ(said(f.filled(true, msgs({1, 2}))),
            (strings{"deliver 1", "deliver 2", "fetch (2, end] limit 2"}));
  EXPECT_EQ(said(f.filled(true, msgs({3}))), strings{"deliver 3"});
  // "To the end" does not move past what was read: the next id is still awaited.
  EXPECT_EQ(f.delivered_id(), 3);
  EXPECT_EQ(said(f.message(msg(4))), strings{"deliver 4"});
}

TEST(RoomFeed, AGapReadInPagesEndsAtTheGap) {
  room_feed f(2);
  f.open(0);
  EXPECT_EQ(said(f.message(msg(6))), strings{"fetch (0, 5] limit 2"});
  EXPECT_EQ(said(f.filled(true, msgs({1, 2}))),
            (strings{"deliver 1", "deliver 2", "fetch (2, 5] limit 2"}));
  EXPECT_EQ(said(f.filled(true, msgs({3, 5}))),
            (strings{"deliver 3", "deliver 5", "fetch (5, 5] limit 2"}));
  EXPECT_EQ(said(f.filled(true, {})), strings{"deliver 6"});
}

TEST(RoomFeed, AnAckWaitsForItsMessage) {
  room_feed f;
  f.open(0);
  EXPECT_EQ(said(f.stored(1, 7, "a")), strings{});
  EXPECT_TRUE(f.busy());
  EXPECT_EQ(said(f.message(msg(1))), (strings{"deliver 1", "ack 1 to 7 a"}));
  EXPECT_FALSE(f.busy());
  EXPECT_EQ(said(f.message(msg(2))), strings{"deliver 2"});
  EXPECT_EQ(said(f.stored(2, 8, "b")), strings{"ack 2 to 8 b"});  // delivered already
}

TEST(RoomFeed, AcksAnsweredOutOfOrderFollowTheirMessagesInOrder) {
  room_feed f;
  f.open(0);
  f.stored(3, 9, "c");
  f.stored(1, 7, "a");
  f.stored(2, 8, "b");
  EXPECT_EQ(said(f.message(msg(2))), strings{"fetch (0, 1] limit 500"});
  EXPECT_EQ(said(f.message(msg(3))), strings{});
  EXPECT_EQ(said(f.filled(true, msgs({1}))),
            (strings{"deliver 1", "ack 1 to 7 a", "deliver 2", "ack 2 to 8 b", "deliver 3",
                     "ack 3 to 9 c"}));
}

TEST(RoomFeed, AcksBeforeOpenGoOnceTheLastIdCoversThem) {
  room_feed f;
  f.stored(2, 7, "a");
  f.stored(4, 8, "b");
  EXPECT_EQ(said(f.open(3)), strings{"ack 2 to 7 a"});
  EXPECT_EQ(said(f.message(msg(4))), (strings{"deliver 4", "ack 4 to 8 b"}));
}

TEST(RoomFeed, TheAckOfAMessageTheStoreNoLongerHasGoesWhenTheReadPassesIt) {
  room_feed f;
  f.open(0);
  f.stored(1, 7, "a");
  EXPECT_EQ(said(f.message(msg(2))), strings{"fetch (0, 1] limit 500"});
  EXPECT_EQ(said(f.filled(true, {})), (strings{"ack 1 to 7 a", "deliver 2"}));
}

TEST(RoomFeed, HeldMessagesAreCappedAndTheRestIsReadBack) {
  room_feed f(500, 2);
  f.open(0);
  EXPECT_EQ(said(f.message(msg(3))), strings{"fetch (0, 2] limit 500"});
  f.message(msg(4));  // held: 3 and 4, the cap
  f.message(msg(5));  // dropped: the store has it
  EXPECT_EQ(f.held(), 2u);
  EXPECT_EQ(said(f.filled(true, msgs({1, 2}))),
            (strings{"deliver 1", "deliver 2", "deliver 3", "deliver 4"}));
  EXPECT_EQ(said(f.message(msg(6))), strings{"fetch (4, 5] limit 500"});
  EXPECT_EQ(said(f.filled(true, msgs({5}))), (strings{"deliver 5", "deliver 6"}));
}

TEST(RoomFeed, AnAnswerNobodyAskedForIsIgnored) {
  room_feed f;
  f.open(0);
  EXPECT_EQ(said(f.filled(true, msgs({1, 2}))), strings{});
  EXPECT_EQ(f.delivered_id(), 0);
}

}  // namespace
}  // namespace duplex::chat::test
