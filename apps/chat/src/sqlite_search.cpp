#include "sqlite_search.hpp"

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>

#include "schema.hpp"
#include "sql.hpp"

namespace duplex::chat {
namespace {

// The index drives the query (CROSS JOIN keeps it outermost), newest key first, so that a page
// stops at its limit; feeds the reader may not see, and events (an edit's row: its message row
// holds the edited text already), are skipped row by row. The snippet shows
// up to 24 words around the matches.
constexpr const char* find_sql =
    "SELECT k.key, k.room, k.id, m.nick, m.ts,"
    " snippet(search_index, 0, char(1), char(2), '…', 24)"
    " FROM search_index CROSS JOIN search_keys k ON k.key = search_index.rowid"
    " CROSS JOIN messages m ON m.room = k.room AND m.id = k.id"
    " WHERE search_index MATCH ?1 AND search_index.rowid < ?2"
    " AND k.room IN (SELECT value FROM json_each(?3)) AND m.kind = ''"
    " ORDER BY search_index.rowid DESC LIMIT ?4";

struct deadline {
  std::chrono::steady_clock::time_point at;
};

// SQLite calls this every few thousand instructions: past the deadline it interrupts the
// query (SQLITE_INTERRUPT).
int past_deadline(void* p) {
  return std::chrono::steady_clock::now() > static_cast<deadline*>(p)->at ? 1 : 0;
}

std::string feeds_json(const std::vector<std::string>& feeds) {
  return nlohmann::json(feeds).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

sqlite_search::sqlite_search(const std::string& path, work_pool::poster post,
                             std::chrono::milliseconds budget, std::size_t max_waiting)
    : db_(std::make_unique<sql::connection>(path, std::chrono::seconds(5))),
      budget_(budget),
      pool_(1, max_waiting, std::move(post)) {
  configure(*db_);
  migrate(*db_);  // the index may be the first to open the file
}

sqlite_search::~sqlite_search() = default;

void sqlite_search::find(search_request r,
                         std::function<void(search_status, std::vector<search_hit>)> done) {
  auto answer = std::make_shared<decltype(done)>(std::move(done));
  const bool queued = pool_.submit([this, r = std::move(r), answer]() -> std::function<void()> {
    std::vector<search_hit> hits;
    const search_status status = run(r, hits);
    return
        [answer, status, hits = std::move(hits)]() mutable { (*answer)(status, std::move(hits)); };
  });
  if (!queued) (*answer)(search_status::busy, {});
}

search_status sqlite_search::run(const search_request& r, std::vector<search_hit>& out) {
  if (r.match.empty() || r.feeds.empty() || r.limit == 0) return search_status::ok;
  deadline d{std::chrono::steady_clock::now() + budget_};
  sqlite3_progress_handler(db_->handle(), 1000, past_deadline, &d);
  search_status status = search_status::ok;
  try {
    sql::statement st(*db_, find_sql);
    st.bind(1, r.match)
        .bind(2, r.before_key > 0 ? r.before_key : INT64_MAX)
        .bind(3, feeds_json(r.feeds))
        .bind(4, static_cast<std::int64_t>(r.limit));
    while (st.row())
      out.push_back({st.integer(0), st.text(1), st.integer(2), st.text(3), st.integer(4),
                     split_snippet(st.text(5))});
  } catch (const sql::error& e) {
    out.clear();
    status = (e.code() & 0xFF) == SQLITE_INTERRUPT ? search_status::timeout : search_status::failed;
    if (status == search_status::failed)
      std::fprintf(stderr, "duplex-chat: search failed: %s\n", e.what());
  } catch (const std::exception& e) {  // out of memory: an answer all the same
    out.clear();
    status = search_status::failed;
    std::fprintf(stderr, "duplex-chat: search failed: %s\n", e.what());
  }
  sqlite3_progress_handler(db_->handle(), 0, nullptr, nullptr);
  return status;
}

}  // namespace duplex::chat
