#include "room_feed.hpp"

#include <algorithm>
#include <utility>

namespace duplex::chat {

room_feed::actions room_feed::open(std::int64_t last_id) {
  actions out;
  if (ready_) return out;
  ready_ = true;
  delivered_ = last_id;
  release_acks(out);
  drain_held(out);
  return out;
}

room_feed::actions room_feed::message(const stored_message& m) {
  actions out;
  if (ready_ && m.id <= delivered_) return out;  // delivered already (a fill read it first)
  if (!ready_ || filling() || m.id != delivered_ + 1) {
    if (held_.size() < max_held_) held_.emplace(m.id, m);  // past the cap, a fill reads it
    if (ready_ && !filling()) drain_held(out);
    return out;
  }
  deliver_one(m, out);
  drain_held(out);
  return out;
}

// The message comes first: a sender always sees its message before the ack, whichever of the
// two the store reports first.
room_feed::actions room_feed::stored(std::int64_t id, std::uint64_t sender, std::string ref,
                                     std::string cid) {
  actions out;
  if (!ready_ || id > delivered_) {
    acks_.emplace(id, owed_ack{sender, std::move(ref), std::move(cid)});
    return out;
  }
  out.emplace_back(ack{sender, std::move(ref), id, std::move(cid)});
  return out;
}

room_feed::actions room_feed::filled(bool ok, std::vector<stored_message> messages) {
  actions out;
  if (!fetching_) return out;  // no read of ours is under way
  const fetch asked = *fetching_;
  fetching_.reset();
  if (!ok) return out;  // the next message or a resync tries again
  const bool more = messages.size() >= asked.limit;
  for (auto& m : messages)
    if (m.id > delivered_) deliver_one(std::move(m), out);
  if (more) {
    start_fetch(asked.up_to, out);
    return out;
  }
  // range() is authoritative: ids up to the end of the read that it did not return do not
  // exist (pruned, or writes that failed), so nothing is waited for below it.
  if (asked.up_to != to_the_end) delivered_ = std::max(delivered_, asked.up_to);
  release_acks(out);
  drain_held(out);
  return out;
}

room_feed::actions room_feed::resync() {
  actions out;
  if (ready_ && !filling()) start_fetch(to_the_end, out);
  return out;
}

void room_feed::deliver_one(stored_message m, actions& out) {
  delivered_ = m.id;
  out.emplace_back(deliver{std::move(m)});
  release_acks(out);
}

void room_feed::release_acks(actions& out) {
  while (!acks_.empty() && acks_.begin()->first <= delivered_) {
    auto first = acks_.begin();
    out.emplace_back(ack{first->second.sender, std::move(first->second.ref), first->first,
                         std::move(first->second.cid)});
    acks_.erase(first);
  }
}

// Delivers what was held while it follows on; a gap before the first held message is read
// from the store first.
void room_feed::drain_held(actions& out) {
  while (!held_.empty()) {
    auto first = held_.begin();
    if (first->first <= delivered_) {
      held_.erase(first);
      continue;
    }
    if (first->first != delivered_ + 1) return start_fetch(first->first - 1, out);
    stored_message m = std::move(first->second);
    held_.erase(first);
    deliver_one(std::move(m), out);
  }
}

void room_feed::start_fetch(std::int64_t up_to, actions& out) {
  fetching_ = fetch{delivered_, up_to, fetch_limit_};
  out.emplace_back(*fetching_);
}

}  // namespace duplex::chat
