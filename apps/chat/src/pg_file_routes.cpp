#include "pg_file_routes.hpp"

#include <sodium.h>

#include <map>
#include <memory>

#include "file_http.hpp"
#include "image_probe.hpp"

namespace duplex::chat {
namespace {

constexpr const char* unavailable = "files cannot be reached now (PostgreSQL); try again";

// One upload under way. At most one job of it is in flight (begin, a chunk, or finish), and the
// body is paused meanwhile, so it holds at most a chunk and a piece.
struct pg_upload {
  http_exchange ex;
  upload_record rec{};
  crypto_hash_sha256_state hash{};
  std::string head{};    // the first bytes, for image_probe
  std::string buffer{};  // the next chunk
  int seq = 0;
  bool started = false;    // its row is in
  bool in_flight = false;  // a job runs
  bool end_seen = false;   // the body ended while a job ran
  bool ended = false;      // answered or aborted: what comes back is dropped
};

struct pg_files_context {
  pg_file_store& store;
  file_settings settings;
  file_access access;
  std::size_t running = 0;
  std::map<std::string, std::size_t, std::less<>> per_user;
  // By the address of the exchange's request head, stable while a handle lives (every
  // pg_upload holds one).
  std::map<const http::request*, std::shared_ptr<pg_upload>> jobs;

  // The upload's slot is freed; its row is forgotten unless it was `kept`.
  void end(const std::shared_ptr<pg_upload>& up, bool kept) {
    if (up->ended) return;
    up->ended = true;
    if (auto u = per_user.find(up->rec.uploader); u != per_user.end() && --u->second == 0)
      per_user.erase(u);
    --running;
    jobs.erase(&up->ex.request());
    if (!kept && up->started) store.discard(up->rec.id);
  }
  void fail(const std::shared_ptr<pg_upload>& up, int status, std::string_view code,
            std::string_view why) {
    end(up, false);
    answer_error(up->ex, status, code, why);
  }
};

void finish(pg_files_context& cx, const std::shared_ptr<pg_upload>& up);

// After a job: on with the body, or its end.
void next(pg_files_context& cx, const std::shared_ptr<pg_upload>& up, file_status st) {
  up->in_flight = false;
  if (up->ended) return cx.store.discard(up->rec.id);  // aborted meanwhile: nothing writes now
  if (st == file_status::refused)
    return cx.fail(up, 429, "too_many_files", "send or discard the files you uploaded first");
  if (st != file_status::ok) return cx.fail(up, 503, "files_unavailable", unavailable);
  up->started = true;
  if (up->end_seen) return finish(cx, up);
  up->ex.resume();
}

void submitted(pg_files_context& cx, const std::shared_ptr<pg_upload>& up, bool queued) {
  if (queued) {
    up->in_flight = true;
    return;
  }
  cx.fail(up, 503, "busy", "the server takes too many uploads now; try again");
}

void on_head(pg_files_context& cx, http_exchange& ex) {
  auto head = admit_upload_head(ex, cx.settings, cx.access);
  if (!head) return;
  if (const auto u = cx.per_user.find(head->user);
      u != cx.per_user.end() && u->second >= cx.settings.uploads_per_user)
    return answer_error(ex, 429, "too_many_uploads", "wait for your other uploads to finish");
  if (cx.running >= cx.settings.uploads_total)
    return answer_error(ex, 503, "busy", "the server takes too many uploads now; try again");
  auto up = std::make_shared<pg_upload>(pg_upload{ex});
  up->rec = {new_upload_id(), {},   head->user, head->feed, head->name, {}, 0, 0, 0,
             files_now_ms(),  false};
  crypto_hash_sha256_init(&up->hash);
  ++cx.per_user[head->user];
  ++cx.running;
  cx.jobs.emplace(&ex.request(), up);
  // The body cannot be paused before it starts: its first piece waits in the buffer.
  submitted(cx, up, cx.store.begin(up->rec, cx.settings.max_unposted, [&cx, up](file_status st) {
    next(cx, up, st);
  }));
}

std::shared_ptr<pg_upload> job_of(pg_files_context& cx, http_exchange& ex) {
  const auto it = cx.jobs.find(&ex.request());
  return it == cx.jobs.end() ? nullptr : it->second;
}

void on_data(pg_files_context& cx, http_exchange& ex, std::string_view piece) {
  const auto up = job_of(cx, ex);
  if (!up) return;
  crypto_hash_sha256_update(&up->hash, reinterpret_cast<const unsigned char*>(piece.data()),
                            piece.size());
  if (up->head.size() < image_probe_bytes)
    up->head.append(piece.substr(0, image_probe_bytes - up->head.size()));
  up->rec.size += static_cast<std::int64_t>(piece.size());
  up->buffer.append(piece);
  if (up->in_flight) return ex.pause();  // the row is not in yet
  if (up->buffer.size() < pg_file_store::chunk_bytes) return;
  ex.pause();
  std::string chunk;
  chunk.swap(up->buffer);
  submitted(cx, up,
            cx.store.write(up->rec.id, up->seq++, std::move(chunk),
                           [&cx, up](file_status st) { next(cx, up, st); }));
}

void finish(pg_files_context& cx, const std::shared_ptr<pg_upload>& up) {
  const auto image = probe_image(up->head);
  up->rec.mime = image ? std::string(image.mime) : "application/octet-stream";
  up->rec.width = image.width;
  up->rec.height = image.height;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&up->hash, digest);
  up->rec.sha256.assign(sizeof digest * 2, '\0');
  sodium_bin2hex(up->rec.sha256.data(), up->rec.sha256.size() + 1, digest, sizeof digest);
  std::string last;
  last.swap(up->buffer);
  const bool queued = cx.store.finish(up->rec, up->seq, std::move(last), [&cx, up](file_status st) {
    if (up->ended) return;
    if (st != file_status::ok) return cx.fail(up, 503, "files_unavailable", unavailable);
    cx.end(up, true);
    http_response res;
    res.status(200).body(attachment_json(up->rec), "application/json; charset=utf-8");
    up->ex.respond(std::move(res));
  });
  submitted(cx, up, queued);
}

void on_end(pg_files_context& cx, http_exchange& ex) {
  const auto up = job_of(cx, ex);
  if (!up) return;
  if (up->in_flight) {
    up->end_seen = true;
    return;
  }
  finish(cx, up);
}

void on_abort(pg_files_context& cx, http_exchange& ex) {
  const auto up = job_of(cx, ex);
  if (!up) return;
  // A job in flight discards the row when it comes back (next()), not before it is written.
  if (up->in_flight) up->started = false;
  cx.end(up, false);
}

void serve(pg_files_context& cx, http_exchange ex) {
  auto ask = admit_download(ex, cx.access);
  if (!ask) return;
  auto found = [&cx, ex, user = ask->user](file_status st,
                                           std::optional<upload_record> rec) mutable {
    if (st != file_status::ok) return answer_error(ex, 503, "files_unavailable", unavailable);
    if (!may_download(ex, cx.access, user, rec)) return;
    http_response res;
    if (answer_headers(ex, res, *rec)) return;
    auto read = [ex, res, mime = rec->mime](file_status got, std::string body) mutable {
      if (got != file_status::ok) return answer_error(ex, 503, "files_unavailable", unavailable);
      res.status(200).body(std::move(body), mime);
      ex.respond(std::move(res));
    };
    if (!cx.store.read(rec->id, rec->size, std::move(read)))
      answer_error(ex, 503, "busy", "the server reads too many files now; try again");
  };
  if (!cx.store.find(ask->id, std::move(found)))
    answer_error(ex, 503, "busy", "the server reads too many files now; try again");
}

}  // namespace

void add_pg_file_routes(server& srv, pg_file_store& store, const file_settings& settings,
                        file_access access) {
  auto cx = std::make_shared<pg_files_context>(
      pg_files_context{store, settings, std::move(access), 0, {}, {}});
  http_stream_behavior up;
  up.body.max_bytes = settings.max_bytes;
  up.on_head = [cx](http_exchange& ex) { on_head(*cx, ex); };
  up.on_data = [cx](http_exchange& ex, std::string_view piece) { on_data(*cx, ex, piece); };
  up.on_end = [cx](http_exchange& ex) { on_end(*cx, ex); };
  up.on_abort = [cx](http_exchange& ex, std::error_code) { on_abort(*cx, ex); };
  srv.http_stream("/api/files", std::move(up));
  body_options none;
  none.max_bytes = 0;
  none.prefix = true;
  srv.http_body(
      "/files/", [cx](http_exchange ex, std::string) { serve(*cx, std::move(ex)); }, none);
  // An upload's body is done within the server's body timeouts: an hour-old incomplete one is
  // what a node that died during it left.
  srv.every(std::chrono::hours(1), [cx] {
    const auto now = files_now_ms();
    cx->store.sweep(now - cx->settings.unposted_ttl_ms, now - 3600'000);
  });
}

}  // namespace duplex::chat
