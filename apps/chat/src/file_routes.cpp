#include "file_routes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <unordered_map>

#include "account_replies.hpp"
#include "duplex/server/http_exchange.hpp"
#include "file_names.hpp"
#include "image_probe.hpp"
#include "web_accounts.hpp"

namespace duplex::chat {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void answer(http_exchange& ex, const api_response& r) {
  http_response res;
  fill(res, r);
  ex.respond(std::move(res));
}

void answer_error(http_exchange& ex, int status, std::string_view code, std::string_view why) {
  answer(ex, replies::error(status, code, why));
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
  const auto& req = ex.request();
  auto refuse = [&](int status, std::string_view code, std::string_view why) {
    answer_error(ex, status, code, why);
    return std::nullopt;
  };
  if (req.method != "POST") return refuse(405, "method_not_allowed", "use POST");
  if (!cx.settings.unavailable.empty())
    return refuse(503, "files_unavailable", cx.settings.unavailable);
  if (check_origin(req, cx.access.origins) != 0)
    return refuse(403, "cross_origin", "this request must come from the chat's page");
  const auto found = cx.access.session(req.find("Cookie").value_or(""));
  if (found.failed) return refuse(503, "busy", "the accounts cannot be read now; try again");
  if (!found.session) return refuse(401, "signed_out", "sign in to upload files");
  const std::string user = found.session->who.key;
  const auto target =
      upload_target_of(*cx.access.rooms, cx.access.key_of, user, req.query(), now_ms());
  if (target.status != 0) return refuse(target.status, target.code, target.why);
  if (cx.store.unposted(user) >= cx.settings.max_unposted)
    return refuse(429, "too_many_files", "send or discard the files you uploaded first");
  if (const auto u = cx.per_user.find(user);
      u != cx.per_user.end() && u->second >= cx.settings.uploads_per_user)
    return refuse(429, "too_many_uploads", "wait for your other uploads to finish");
  if (cx.jobs.size() >= cx.settings.uploads_total)
    return refuse(503, "busy", "the server takes too many uploads now; try again");
  return upload_job{nullptr, user, target.feed,
                    sanitize_file_name(req.find("X-Filename").value_or(""))};
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

// The headers that make a file inert wherever it is opened: no sniffing, no script, no frame,
// no other site embedding it; the name as sent for a download.
void file_headers(http_response& res, const upload_record& rec) {
  res.header("X-Content-Type-Options", "nosniff");
  res.header("Content-Security-Policy", "default-src 'none'; sandbox");
  res.header("Cross-Origin-Resource-Policy", "same-origin");
  res.header("Cache-Control", "private, max-age=86400");
  res.header("ETag", "\"" + rec.sha256 + "\"");
  res.header("Content-Disposition", std::string(rec.image() ? "inline" : "attachment") +
                                        "; filename*=UTF-8''" + rfc8187_encode(rec.name));
}

// GET /files/ID or /files/ID/NAME (the name is for the reader's eyes; the upload's is used).
void serve_file(files_context& cx, http_exchange& ex) {
  const auto& req = ex.request();
  if (req.method != "GET" && req.method != "HEAD") {
    http_response res;
    res.status(405).header("Allow", "GET, HEAD").body("method not allowed\n");
    return ex.respond(std::move(res));
  }
  std::string_view rest = req.path().substr(std::string_view("/files/").size());
  const std::string_view id = rest.substr(0, rest.find('/'));
  const auto found = cx.access.session(req.find("Cookie").value_or(""));
  if (found.failed) return answer_error(ex, 503, "busy", "the accounts cannot be read now");
  if (!found.session) return answer_error(ex, 401, "signed_out", "sign in to see files");
  // One answer for "no such file" and "not yours to see": existence is not disclosed.
  auto not_found = [&] { answer_error(ex, 404, "not_found", "no such file"); };
  if (!valid_upload_id(id)) return not_found();
  const auto rec = cx.store.find(id);
  if (!rec || !rec->posted || !may_read(*cx.access.rooms, found.session->who.key, rec->feed))
    return not_found();
  http_response res;
  file_headers(res, *rec);
  if (const auto inm = req.find("If-None-Match");
      inm && inm->find(rec->sha256) != std::string_view::npos) {
    res.status(304);
    return ex.respond(std::move(res));
  }
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
