#include "pg_files.hpp"

#include <cstdio>

namespace duplex::chat {
namespace {

constexpr const char* columns =
    "id, sha256, uploader, feed, name, mime, size, width, height, created_ms, posted";

upload_record record_of(const pg_rows& r) {
  return {r.text(0, 0),    r.text(0, 1),    r.text(0, 2),        r.text(0, 3),
          r.text(0, 4),    r.text(0, 5),    r.integer(0, 6),     r.integer(0, 7),
          r.integer(0, 8), r.integer(0, 9), r.text(0, 10) == "t"};
}

pg_sync_options loop_options(const std::string& conninfo) {
  pg_sync_options o;
  o.conninfo = conninfo;
  return o;
}

// A file job moves up to a chunk per statement: more time than an account read, still bounded.
pg_sync_options worker_options(const std::string& conninfo) {
  pg_sync_options o;
  o.conninfo = conninfo;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.answer_timeout = std::chrono::milliseconds(5000);
  o.min_backoff = std::chrono::milliseconds(250);
  o.max_backoff = std::chrono::milliseconds(2000);
  return o;
}

void log_failure(const char* what, const std::exception& e) {
  std::fprintf(stderr, "duplex-chat: files in PostgreSQL, %s: %s\n", what, e.what());
}

}  // namespace

class pg_file_store::lease {
 public:
  explicit lease(pg_file_store& s) : store_(s) {
    std::lock_guard lock(s.mutex_);
    db_ = std::move(s.idle_.back());  // never empty: one connection per worker
    s.idle_.pop_back();
  }
  ~lease() {
    std::lock_guard lock(store_.mutex_);
    store_.idle_.push_back(std::move(db_));
  }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  pg_sync& db() { return *db_; }

 private:
  pg_file_store& store_;
  std::unique_ptr<pg_sync> db_;
};

pg_file_store::pg_file_store(const std::string& conninfo, std::size_t threads,
                             std::size_t max_queued, work_pool::poster post)
    : loop_db_(loop_options(conninfo)), pool_(threads, max_queued, std::move(post)) {
  for (std::size_t i = 0; i < threads; ++i)
    idle_.push_back(std::make_unique<pg_sync>(worker_options(conninfo)));
}

pg_file_store::~pg_file_store() = default;

bool pg_file_store::run(std::function<std::function<void()>(pg_sync&)> job) {
  return pool_.submit([this, job = std::move(job)] {
    lease l(*this);
    return job(l.db());
  });
}

bool pg_file_store::begin(const upload_record& r, std::size_t max_unposted, status_done done) {
  return run([r, max_unposted, done = std::move(done)](pg_sync& db) -> std::function<void()> {
    try {
      // One statement: the count and the insert see the same rows. Two nodes racing for the
      // last place may both get it; the bound is still there, one upload wider.
      const auto rows = db.exec(
          "INSERT INTO uploads (id, uploader, feed, name, created_ms)"
          " SELECT $1, $2, $3, $4, $5::bigint WHERE (SELECT count(*) FROM uploads"
          "  WHERE uploader = $2 AND NOT posted) < $6::bigint",
          {r.id, r.uploader, r.feed, r.name, std::to_string(r.created_ms),
           std::to_string(max_unposted)});
      const auto st = rows.affected() == 1 ? file_status::ok : file_status::refused;
      return [done, st] { done(st); };
    } catch (const std::exception& e) {
      log_failure("starting an upload", e);
      return [done] { done(file_status::failed); };
    }
  });
}

bool pg_file_store::write(std::string id, int seq, std::string bytes, status_done done) {
  return run([id = std::move(id), seq, bytes = std::move(bytes),
              done = std::move(done)](pg_sync& db) -> std::function<void()> {
    try {
      db.exec_raw("INSERT INTO upload_chunks (upload, seq, data) VALUES ($1, $2::integer, $3)",
                  {{id}, {std::to_string(seq)}, {bytes, true}}, false);
      return [done] { done(file_status::ok); };
    } catch (const std::exception& e) {
      log_failure("writing an upload", e);
      return [done] { done(file_status::failed); };
    }
  });
}

bool pg_file_store::finish(const upload_record& r, int seq, std::string bytes, status_done done) {
  return run([r, seq, bytes = std::move(bytes),
              done = std::move(done)](pg_sync& db) -> std::function<void()> {
    try {
      pg_transaction tx(db);
      if (!bytes.empty())
        db.exec_raw("INSERT INTO upload_chunks (upload, seq, data) VALUES ($1, $2::integer, $3)",
                    {{r.id}, {std::to_string(seq)}, {bytes, true}}, false);
      const auto rows = db.exec(
          "UPDATE uploads SET sha256 = $2, mime = $3, size = $4::bigint, width = $5::bigint,"
          " height = $6::bigint, complete = true WHERE id = $1",
          {r.id, r.sha256, r.mime, std::to_string(r.size), std::to_string(r.width),
           std::to_string(r.height)});
      if (rows.affected() != 1) return [done] { done(file_status::failed); };
      tx.commit();
      return [done] { done(file_status::ok); };
    } catch (const std::exception& e) {
      log_failure("ending an upload", e);
      return [done] { done(file_status::failed); };
    }
  });
}

void pg_file_store::discard(std::string id) {
  run([id = std::move(id)](pg_sync& db) -> std::function<void()> {
    try {
      db.exec("DELETE FROM uploads WHERE id = $1 AND NOT complete", {id});
    } catch (const std::exception& e) {
      log_failure("forgetting an upload", e);
    }
    return nullptr;
  });
}

bool pg_file_store::find(std::string id, find_done done) {
  return run([id = std::move(id), done = std::move(done)](pg_sync& db) -> std::function<void()> {
    try {
      const auto rows = db.exec(
          std::string("SELECT ") + columns + " FROM uploads WHERE id = $1 AND complete", {id});
      std::optional<upload_record> rec;
      if (rows.rows() == 1) rec = record_of(rows);
      return [done, rec = std::move(rec)] { done(file_status::ok, rec); };
    } catch (const std::exception& e) {
      log_failure("finding a file", e);
      return [done] { done(file_status::failed, std::nullopt); };
    }
  });
}

// One statement per chunk: only the chunk in hand and the answer being filled are in memory.
bool pg_file_store::read(std::string id, std::int64_t size, read_done done) {
  return run([id = std::move(id), size,
              done = std::move(done)](pg_sync& db) -> std::function<void()> {
    try {
      std::string body;
      body.reserve(static_cast<std::size_t>(size));
      for (int seq = 0;; ++seq) {
        const auto rows =
            db.exec_raw("SELECT data FROM upload_chunks WHERE upload = $1 AND seq = $2::integer",
                        {{id}, {std::to_string(seq)}}, true);
        if (rows.rows() != 1) break;
        const auto piece = rows.bytes(0, 0);
        if (body.size() + piece.size() > static_cast<std::size_t>(size)) break;
        body.append(piece);
      }
      if (body.size() != static_cast<std::size_t>(size)) {
        std::fprintf(stderr, "duplex-chat: file %s in PostgreSQL is not whole\n", id.c_str());
        return [done] { done(file_status::failed, {}); };
      }
      return [done, body = std::move(body)]() mutable { done(file_status::ok, std::move(body)); };
    } catch (const std::exception& e) {
      log_failure("reading a file", e);
      return [done] { done(file_status::failed, {}); };
    }
  });
}

void pg_file_store::sweep(std::int64_t unposted_cutoff_ms, std::int64_t incomplete_cutoff_ms) {
  run([unposted_cutoff_ms, incomplete_cutoff_ms](pg_sync& db) -> std::function<void()> {
    try {
      db.exec(
          "DELETE FROM uploads WHERE NOT posted AND (created_ms < $1::bigint"
          " OR (NOT complete AND created_ms < $2::bigint))",
          {std::to_string(unposted_cutoff_ms), std::to_string(incomplete_cutoff_ms)});
    } catch (const std::exception& e) {
      log_failure("sweeping uploads", e);
    }
    return nullptr;
  });
}

std::optional<upload_record> pg_file_store::claim(std::string_view id, std::string_view uploader,
                                                  std::string_view feed) {
  const auto rows = loop_db_.exec(
      std::string("UPDATE uploads SET posted = true WHERE id = $1 AND uploader = $2 AND feed = $3"
                  " AND complete RETURNING ") +
          columns,
      {std::string(id), std::string(uploader), std::string(feed)});
  if (rows.rows() != 1) return std::nullopt;
  return record_of(rows);
}

}  // namespace duplex::chat
