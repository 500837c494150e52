#include "file_routes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <unordered_map>

#include "duplex/server/http_exchange.hpp"
#include "file_http.hpp"
#include "image_probe.hpp"

namespace duplex::chat {
namespace {

std::int64_t now_ms() {
  return files_now_ms();
}

// One upload under way; destroyed (its temporary file removed, its slot freed) when it ends in
// any way but keep().
struct upload_job {
  std::unique_ptr<blob_writer> blob;
  std::string user;
  std::string feed;
  std::string name;
};

struct files_context {
  upload_store& store;
  file_settings settings;
  file_access access;
  // By the address of the exchange's request head, stable while any handle lives: the
  // exchange carries no user data of its own. Every exchange runs on loop 0 (threads = 1).
  std::unordered_map<const http::request*, upload_job> jobs;
  std::map<std::string, std::size_t, std::less<>> per_user;

  void end(const http::request* key) {
    auto it = jobs.find(key);
    if (it == jobs.end()) return;
    if (auto u = per_user.find(it->second.user); u != per_user.end() && --u->second == 0)
      per_user.erase(u);
    jobs.erase(it);
  }
};

// The refusals that need no body byte: the method, the mode, the origin, the session, the
// target, the counts. Returns the job's fields when the upload may go on.
std::optional<upload_job> admit_upload(files_context& cx, http_exchange& ex) {
  auto head = admit_upload_head(ex, cx.settings, cx.access);
  if (!head) return std::nullopt;
  auto refuse = [&](int status, std::string_view code, std::string_view why) {
    answer_error(ex, status, code, why);
    return std::nullopt;
  };
  if (cx.store.unposted(head->user) >= cx.settings.max_unposted)
    return refuse(429, "too_many_files", "send or discard the files you uploaded first");
  if (const auto u = cx.per_user.find(head->user);
      u != cx.per_user.end() && u->second >= cx.settings.uploads_per_user)
    return refuse(429, "too_many_uploads", "wait for your other uploads to finish");
  if (cx.jobs.size() >= cx.settings.uploads_total)
    return refuse(503, "busy", "the server takes too many uploads now; try again");
  return upload_job{nullptr, std::move(head->user), std::move(head->feed), std::move(head->name)};
}

void on_upload_head(files_context& cx, http_exchange& ex) {
  auto job = admit_upload(cx, ex);
  if (!job) return;
  try {
    job->blob = std::make_unique<blob_writer>(cx.settings.dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: %s\n", e.what());
    return answer_error(ex, 500, "store_failed", "the file could not be stored");
  }
  ++cx.per_user[job->user];
  cx.jobs.emplace(&ex.request(), std::move(*job));
}

void on_upload_data(files_context& cx, http_exchange& ex, std::string_view piece) {
  auto it = cx.jobs.find(&ex.request());
  if (it == cx.jobs.end()) return;
  int err = 0;
  if (it->second.blob->write(piece, err)) return;
  cx.end(&ex.request());
  if (err == ENOSPC || err == EDQUOT)
    return answer_error(ex, 507, "disk_full", "the server has no room for this file now");
  answer_error(ex, 500, "store_failed", "the file could not be stored");
}

void on_upload_end(files_context& cx, http_exchange& ex) {
  auto it = cx.jobs.find(&ex.request());
  if (it == cx.jobs.end()) return;
  upload_job& job = it->second;
  const auto image = probe_image(job.blob->head());
  upload_record rec{
      new_upload_id(),  {},          job.user,
      job.feed,         job.name,    image ? std::string(image.mime) : "application/octet-stream",
      job.blob->size(), image.width, image.height,
      now_ms(),         false};
  rec.sha256 = job.blob->keep();
  cx.end(&ex.request());
  if (rec.sha256.empty())
    return answer_error(ex, 500, "store_failed", "the file could not be stored");
  try {
    cx.store.add(rec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: recording an upload: %s\n", e.what());
    if (!cx.store.names_blob(rec.sha256)) ::unlink((cx.settings.dir + "/" + rec.sha256).c_str());
    return answer_error(ex, 500, "store_failed", "the file could not be stored");
  }
  http_response res;
  res.status(200).body(attachment_json(rec), "application/json; charset=utf-8");
  ex.respond(std::move(res));
}

// The whole blob: files are at most max_bytes, and the server writes a response from memory.
bool read_blob(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    out.resize(static_cast<std::size_t>(st.st_size));
    ok = ::pread(fd, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size());
  }
  ::close(fd);
  return ok;
}

void serve_file(files_context& cx, http_exchange& ex) {
  const auto ask = admit_download(ex, cx.access);
  if (!ask) return;
  const auto rec = cx.store.find(ask->id);
  if (!may_download(ex, cx.access, ask->user, rec)) return;
  http_response res;
  if (answer_headers(ex, res, *rec)) return;
  std::string body;
  if (!read_blob(cx.settings.dir + "/" + rec->sha256, body))
    return answer_error(ex, 500, "read_failed", "the file could not be read");
  res.status(200).body(std::move(body), rec->mime);
  ex.respond(std::move(res));
}

void sweep(files_context& cx) {
  for (const auto& sha : cx.store.expire(now_ms() - cx.settings.unposted_ttl_ms))
    ::unlink((cx.settings.dir + "/" + sha).c_str());
}

}  // namespace

void add_file_routes(server& srv, upload_store& store, const file_settings& settings,
                     file_access access) {
  auto cx =
      std::make_shared<files_context>(files_context{store, settings, std::move(access), {}, {}});
  http_stream_behavior up;
  up.body.max_bytes = settings.max_bytes;
  up.on_head = [cx](http_exchange& ex) { on_upload_head(*cx, ex); };
  up.on_data = [cx](http_exchange& ex, std::string_view piece) { on_upload_data(*cx, ex, piece); };
  up.on_end = [cx](http_exchange& ex) { on_upload_end(*cx, ex); };
  up.on_abort = [cx](http_exchange& ex, std::error_code) { cx->end(&ex.request()); };
  srv.http_stream("/api/files", std::move(up));
  body_options none;
  none.max_bytes = 0;
  none.prefix = true;
  srv.http_body(
      "/files/", [cx](http_exchange ex, std::string) { serve_file(*cx, ex); }, none);
  srv.every(std::chrono::hours(1), [cx] { sweep(*cx); });
}

}  // namespace duplex::chat
