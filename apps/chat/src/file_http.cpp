#include "file_http.hpp"

#include <chrono>
#include <exception>

#include "account_replies.hpp"
#include "file_names.hpp"
#include "web_accounts.hpp"

namespace duplex::chat {

std::int64_t files_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void answer_error(http_exchange& ex, int status, std::string_view code, std::string_view why) {
  http_response res;
  fill(res, replies::error(status, code, why));
  ex.respond(std::move(res));
}

std::optional<upload_head> admit_upload_head(http_exchange& ex, const file_settings& settings,
                                             const file_access& access) {
  const auto& req = ex.request();
  auto refuse = [&](int status, std::string_view code, std::string_view why) {
    answer_error(ex, status, code, why);
    return std::nullopt;
  };
  if (req.method != "POST") return refuse(405, "method_not_allowed", "use POST");
  if (!settings.unavailable.empty()) return refuse(503, "files_unavailable", settings.unavailable);
  if (check_origin(req, access.origins) != 0)
    return refuse(403, "cross_origin", "this request must come from the chat's page");
  const auto found = access.session(req.find("Cookie").value_or(""));
  if (found.failed) return refuse(503, "busy", "the accounts cannot be read now; try again");
  if (!found.session) return refuse(401, "signed_out", "sign in to upload files");
  std::string user = found.session->who.key;
  upload_target target;
  try {  // the directory may be PostgreSQL's (--pg), which throws while it cannot be read
    target = upload_target_of(*access.rooms, access.key_of, user, req.query(), files_now_ms());
  } catch (const std::exception&) {
    return refuse(503, "busy", "the room directory cannot be read now; try again");
  }
  if (target.status != 0) return refuse(target.status, target.code, target.why);
  return upload_head{std::move(user), std::move(target.feed),
                     sanitize_file_name(req.find("X-Filename").value_or(""))};
}

std::optional<download_ask> admit_download(http_exchange& ex, const file_access& access) {
  const auto& req = ex.request();
  if (req.method != "GET" && req.method != "HEAD") {
    http_response res;
    res.status(405).header("Allow", "GET, HEAD").body("method not allowed\n");
    ex.respond(std::move(res));
    return std::nullopt;
  }
  // GET /files/ID or /files/ID/NAME (the name is for the reader's eyes; the upload's is used).
  std::string_view rest = req.path().substr(std::string_view("/files/").size());
  const std::string_view id = rest.substr(0, rest.find('/'));
  const auto found = access.session(req.find("Cookie").value_or(""));
  if (found.failed) {
    answer_error(ex, 503, "busy", "the accounts cannot be read now");
    return std::nullopt;
  }
  if (!found.session) {
    answer_error(ex, 401, "signed_out", "sign in to see files");
    return std::nullopt;
  }
  if (!valid_upload_id(id)) {
    answer_error(ex, 404, "not_found", "no such file");
    return std::nullopt;
  }
  return download_ask{found.session->who.key, std::string(id)};
}

bool may_download(http_exchange& ex, const file_access& access, const std::string& user,
                  const std::optional<upload_record>& rec) {
  // One answer for "no such file" and "not yours to see". The directory may be PostgreSQL's
  // (--pg), which throws while it cannot be read.
  try {
    if (rec && rec->posted && may_read(*access.rooms, user, rec->feed)) return true;
  } catch (const std::exception&) {
    answer_error(ex, 503, "busy", "the room directory cannot be read now; try again");
    return false;
  }
  answer_error(ex, 404, "not_found", "no such file");
  return false;
}

bool answer_headers(http_exchange& ex, http_response& res, const upload_record& rec) {
  // No sniffing, no script, no frame, no other site embedding it; the name as sent.
  res.header("X-Content-Type-Options", "nosniff");
  res.header("Content-Security-Policy", "default-src 'none'; sandbox");
  res.header("Cross-Origin-Resource-Policy", "same-origin");
  res.header("Cache-Control", "private, max-age=86400");
  res.header("ETag", "\"" + rec.sha256 + "\"");
  res.header("Content-Disposition", std::string(rec.image() ? "inline" : "attachment") +
                                        "; filename*=UTF-8''" + rfc8187_encode(rec.name));
  const auto inm = ex.request().find("If-None-Match");
  if (!inm || inm->find(rec.sha256) == std::string_view::npos) return false;
  res.status(304);
  ex.respond(std::move(res));
  return true;
}

}  // namespace duplex::chat
