// Edits, deletions and reactions (issue 14, item 3): each is an event stored in the feed of its
// message (a room or a private conversation) under an id of the same sequence, and goes out
// like a message, so that a resume replays it in order. Also the text rules every say, dm and
// edit share, and where a reply may point.
#include <algorithm>

#include "conversations.hpp"
#include "hub.hpp"
#include "message_fold.hpp"

namespace duplex::chat {

std::optional<hub::refusal> hub::text_problem(const std::string& text) const {
  if (const auto why = text_refusal(text); !why.empty())
    return refusal{std::string(why), why == "empty_text"
                                         ? "say something"
                                         : "no control characters other than tab and line break"};
  if (text.size() > limits_.max_text_bytes)
    return refusal{"text_too_long", "at most " + std::to_string(limits_.max_text_bytes) + " bytes"};
  return std::nullopt;
}

// A reply names an id its feed has delivered (`known`): ids are dense, so it exists unless it
// was pruned since, and the page shows "a message" for a parent it cannot find.
std::optional<hub::refusal> hub::reply_problem(std::int64_t reply_to, std::int64_t known) const {
  if (reply_to <= 0) return std::nullopt;
  if (!store_.keeps_events())
    return refusal{"edits_unavailable", "this server keeps no replies, edits or reactions"};
  if (reply_to > known) return refusal{"no_such_message", "reply_to: no message with that id"};
  return std::nullopt;
}

std::optional<hub::event_place> hub::place_of(client& c, const request& r) {
  if (!r.str("with").empty()) {
    user* me = signed_in_user(c);
    if (me == nullptr) return std::nullopt;
    auto peer = peer_of(c, *me, r);
    if (!peer) return std::nullopt;
    return event_place{conversations::feed_of(c.user, peer->key), peer->name, peer->key, true};
  }
  room* rm = joined_room(c, r);
  if (rm == nullptr) return std::nullopt;
  return event_place{rm->name, rm->name, {}, false};
}

void hub::refuse_event(client& c, const event_place& p, std::string_view code, std::string_view why,
                       std::string_view cid) {
  ++counters_.errors;
  send(c, p.dm ? wire::dm_error(code, why, p.shown, cid) : wire::error(code, why, p.shown, cid));
}

// `edit {id, text}`, `retract {id}`, `react {id, emoji, remove?}`, each with `room` or `with`
// and an optional `cid`. The target is read first, so that a refusal says why instead of
// storing an event that changes nothing.
void hub::on_event(client& c, const request& r) {
  auto p = place_of(c, r);
  if (!p) return;
  std::string cid = r.str("cid");
  if (!cid.empty() && !wire::valid_cid(cid, limits_.max_cid_chars))
    return refuse_event(c, *p, "invalid_cid", "cid is 1 to 64 of A-Z a-z 0-9 _ -", {});
  auto refuse = [&](std::string_view code, std::string_view why) {
    refuse_event(c, *p, code, why, cid);
  };
  if (!store_.keeps_events())
    return refuse("edits_unavailable", "this server keeps no replies, edits or reactions");
  if (auto m = c.muted_until.find(p->feed);
      !p->dm && m != c.muted_until.end() && m->second > now_())
    return refuse("muted", "a moderator muted you in this room for now");
  const std::int64_t target_id = r.integer("id");
  if (target_id <= 0) return refuse("invalid_id", "id: a message's id");
  stored_message e{p->feed, 0, c.nick, {}, now_(), cid, c.user};
  e.ref_id = target_id;
  if (r.type == "edit") {
    e.kind = "edit";
    e.text = r.str("text");
    if (auto bad = text_problem(e.text)) return refuse(bad->code, bad->message);
  } else if (r.type == "retract") {
    e.kind = "delete";
  } else {
    e.kind = r.body.flag("remove") ? "unreact" : "react";
    e.text = r.str("emoji");
    if (!fold::valid_emoji(e.text)) return refuse("invalid_emoji", "emoji: one emoji");
  }
  store_.range(p->feed, target_id - 1, target_id, 1,
               [this, id = c.id, place = *p, e = std::move(e)](
                   bool ok, std::vector<stored_message> found) mutable {
                 client* cl = find_client(id);
                 if (cl != nullptr && !cl->closing)
                   check_event(*cl, place, std::move(e), ok, found);
               });
}

void hub::check_event(client& c, const event_place& p, stored_message e, bool ok,
                      const std::vector<stored_message>& found) {
  auto refuse = [&](std::string_view code, std::string_view why) {
    refuse_event(c, p, code, why, e.cid);
  };
  if (!ok) return refuse("store_failed", "the change could not be saved; send it again");
  if (found.empty() || found.front().id != e.ref_id || fold::is_event(found.front()))
    return refuse("no_such_message", "no message with that id");
  const stored_message& m = found.front();
  if (fold::deleted(m)) return refuse("message_deleted", "that message was deleted");
  if ((e.kind == "edit" || e.kind == "delete") && m.author != c.user)
    return refuse("not_author", "only its author may edit or delete a message");
  const bool known = std::any_of(m.reactions.begin(), m.reactions.end(),
                                 [&](const reaction& x) { return x.emoji == e.text; });
  if (e.kind == "react" && !known && m.reactions.size() >= fold::max_reactions)
    return refuse("too_many_reactions", "a message has at most 20 different reactions");
  append_event(c, p, std::move(e));
}

// As a say or a dm: acknowledged (by cid) once delivered, and a resend of a cid is stored once.
void hub::append_event(client& c, const event_place& p, stored_message e) {
  const std::string cid = e.cid;
  const std::uint64_t sender = c.id;
  if (!p.dm) {
    auto it = rooms_.find(p.feed);
    if (!c.rooms.contains(p.feed) || it == rooms_.end()) return;  // left meanwhile
    room& rm = it->second;
    ++rm.appending;
    store_.append_once(std::move(e),
                       [this, sender, name = rm.name, serial = rm.serial, cid](append_result a) {
                         if (room* live = live_room(name, serial)) --live->appending;
                         on_stored(sender, name, {{}, cid}, a);
                         release_if_unused(name);
                       });
    return;
  }
  conversation_state* cv = convo_named(p.feed, {c.user, c.nick}, {p.peer, p.shown});
  if (cv == nullptr) return refuse_event(c, p, "server_full", "no more conversations here", cid);
  ++cv->appending;
  store_.append_once(std::move(e),
                     [this, sender, feed = p.feed, serial = cv->serial, cid](append_result a) {
                       if (conversation_state* live = live_convo(feed, serial)) --live->appending;
                       on_dm_stored(sender, feed, {{}, cid}, a);
                       release_convo_if_unused(feed);
                     });
}

}  // namespace duplex::chat
