#include "pg_search.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace duplex::chat {
namespace {

// The newest matches first, by arrival; feeds the reader may not see are filtered in the same
// scan. The headline marks matches with bytes no message holds (text_refusal refuses
// controls), turned into pieces by split_snippet.
constexpr const char* find_sql =
    "SELECT m.search_key, m.feed, m.id, m.nick, m.ts_ms,"
    " ts_headline('simple', m.body, q, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) ||"
    " ', MaxWords=24, MinWords=8')"
    " FROM messages m, plainto_tsquery('simple', $1) q"
    " WHERE m.words @@ q AND m.search_key < $2"
    " AND m.feed IN (SELECT jsonb_array_elements_text($3::jsonb)) AND m.kind = ''"
    " ORDER BY m.search_key DESC LIMIT $4";

}  // namespace

pg_search::pg_search(net::event_loop& loop, pg_options opts, std::chrono::milliseconds budget)
    : db_(loop,
          [&] {
            opts.max_queued = max_waiting;
            return opts;
          }()),
      budget_(budget) {
  // Each connection first gets its time limit; until then searches are refused.
  db_.on_state = [this](bool up) {
    ready_ = false;
    if (!up) return;
    // A query of no word is a notice, not an error: a log line each time, which users choose.
    db_.query(
        "SELECT set_config('statement_timeout', $1, false),"
        " set_config('client_min_messages', 'warning', false)",
        {std::to_string(budget_.count())}, [this](const pg_reply& r) { ready_ = r.ok(); });
  };
}

void pg_search::find(search_request r,
                     std::function<void(search_status, std::vector<search_hit>)> done) {
  if (r.words.empty() || r.feeds.empty() || r.limit == 0) return done(search_status::ok, {});
  if (!connected()) return done(search_status::failed, {});
  const std::string feeds =
      nlohmann::json(r.feeds).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  db_.query(find_sql,
            {r.words, std::to_string(r.before_key > 0 ? r.before_key : INT64_MAX), feeds,
             std::to_string(r.limit)},
            [done = std::move(done)](const pg_reply& reply) {
              if (!reply.ok()) {
                const bool slow = reply.error().find("statement timeout") != std::string::npos;
                const bool full = reply.error().find("queue") != std::string::npos;
                return done(slow   ? search_status::timeout
                            : full ? search_status::busy
                                   : search_status::failed,
                            {});
              }
              std::vector<search_hit> hits;
              for (int i = 0; i < reply.rows(); ++i)
                hits.push_back({reply.integer(i, 0), std::string(reply.text(i, 1)),
                                reply.integer(i, 2), std::string(reply.text(i, 3)),
                                reply.integer(i, 4), split_snippet(reply.text(i, 5))});
              done(search_status::ok, std::move(hits));
            });
}

}  // namespace duplex::chat
