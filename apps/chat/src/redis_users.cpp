// redis_store's private conversations and read marks (issue 11, items 5 and 7): a hash of each
// per user on the user's shard; a conversation's last id on the conversation's shard.
#include <map>

#include "redis_keys.hpp"
#include "redis_reply.hpp"
#include "redis_store.hpp"
#include "wire.hpp"

namespace duplex::chat {

using namespace redis_keys;

void redis_store::add_conversation(const std::string& feed, const std::string& a,
                                   const std::string& a_name, const std::string& b,
                                   const std::string& b_name) {
  auto entry = [&](const std::string& name) { return to_wire({{"name", name}, {"feed", feed}}); };
  at(a).commands.command({"HSET", conversations_key(a), b, entry(b_name)}, nullptr);
  at(b).commands.command({"HSET", conversations_key(b), a, entry(a_name)}, nullptr);
}

void redis_store::set_read(const std::string& user, const std::string& feed, std::int64_t id) {
  at(user).commands.command(
      {"EVAL", read_mark_script, "1", marks_key(user), feed, std::to_string(id)}, nullptr);
}

// A user who just signed in here: its conversations are read once this node hears its channel,
// so that a message stored in between is either in what is read or heard afterwards.
void redis_store::load_user(std::string_view user, std::function<void(bool, user_record)> done) {
  std::string key(user);
  when_hearing_user(key,
                    [this, key, done = std::move(done)]() mutable { load_user_now(key, done); });
}

void redis_store::when_hearing_user(const std::string& user, std::function<void()> then) {
  const redis_link& feed = at(user).feed;
  const std::string channel = user_channel(user);
  if (feed.connected() && feed.wants(channel) && !feed.listening(channel))
    return waiting_loads_[user].push_back(std::move(then));
  then();
}

// The channel was subscribed, given up, or its shard lost: the loads go ahead (and fail if the
// shard cannot answer).
void redis_store::run_waiting_loads(const std::string& user) {
  auto it = waiting_loads_.find(user);
  if (it == waiting_loads_.end()) return;
  auto loads = std::move(it->second);
  waiting_loads_.erase(it);
  for (auto& load : loads)
    load();
}

// Three reads in turn: the conversations, their last ids, the read marks.
void redis_store::load_user_now(const std::string& user,
                                std::function<void(bool, user_record)> done) {
  auto rec = std::make_shared<user_record>();
  const bool sent = at(user).commands.command(
      {"HGETALL", conversations_key(user)}, [this, rec, user, done](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
          if (rec->conversations.size() >= max_listed_conversations) break;
          const nlohmann::json j =
              nlohmann::json::parse(text_of(r->element[i + 1]), nullptr, false);
          conversation_entry e{std::string(text_of(r->element[i])), text_field(j, "name"),
                               text_field(j, "feed"), 0};
          if (!e.feed.empty()) rec->conversations.push_back(std::move(e));
        }
        load_last_ids(rec, user, done);
      });
  if (!sent) done(false, {});
}

// One MGET per shard that holds some of the conversations; the marks once all have answered.
void redis_store::load_last_ids(std::shared_ptr<user_record> rec, std::string user,
                                std::function<void(bool, user_record)> done) {
  std::map<std::size_t, std::vector<std::size_t>> by_shard;  // shard -> conversations
  for (std::size_t i = 0; i < rec->conversations.size(); ++i)
    by_shard[map_.of(rec->conversations[i].feed)].push_back(i);
  if (by_shard.empty()) return load_marks(rec, std::move(user), std::move(done));
  struct gathering {
    std::size_t owed;
    bool ok = true;
  };
  auto g = std::make_shared<gathering>(gathering{by_shard.size()});
  auto one_more = [this, g, rec, user, done](bool ok) {
    g->ok = g->ok && ok;
    if (--g->owed != 0) return;
    if (!g->ok) return done(false, {});
    load_marks(rec, user, done);
  };
  for (const auto& entry : by_shard) {
    // Named copies: clang 14 (the fuzz build) cannot capture a structured binding.
    const auto i = entry.first;
    const auto which = entry.second;
    std::vector<std::string> argv{"MGET"};
    for (auto c : which)
      argv.push_back(seq_key(rec->conversations[c].feed));
    const bool sent =
        shards_[i]->commands.command(argv, [rec, which, one_more](const redisReply* r) {
          if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return one_more(false);
          for (std::size_t k = 0; k < r->elements && k < which.size(); ++k)
            rec->conversations[which[k]].last_id = to_int(text_of(r->element[k]));
          one_more(true);
        });
    if (!sent) one_more(false);
  }
}

void redis_store::load_marks(std::shared_ptr<user_record> rec, std::string user,
                             std::function<void(bool, user_record)> done) {
  const bool sent =
      at(user).commands.command({"HGETALL", marks_key(user)}, [rec, done](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
          if (rec->read_marks.size() >= max_listed_marks) break;
          rec->read_marks.emplace_back(std::string(text_of(r->element[i])),
                                       to_int(text_of(r->element[i + 1])));
        }
        done(true, std::move(*rec));
      });
  if (!sent) done(false, {});
}

}  // namespace duplex::chat
