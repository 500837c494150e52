// What both homes of files (the disk with SQLite, PostgreSQL with --pg) answer alike on HTTP: the
// refusals before any byte of an upload, who may ask for a download, and the headers of a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duplex/server/http_exchange.hpp"
#include "file_routes.hpp"

namespace duplex::chat {

std::int64_t files_now_ms();
void answer_error(http_exchange& ex, int status, std::string_view code, std::string_view why);

// An upload allowed by the rules that need no store: the method, the mode, the origin, the
// session, the target. Otherwise answered, and nothing.
struct upload_head {
  std::string user;
  std::string feed;
  std::string name;
};
std::optional<upload_head> admit_upload_head(http_exchange& ex, const file_settings& settings,
                                             const file_access& access);

// A download's asker and the upload id, when the method, the session and the id's form allow;
// otherwise answered, and nothing.
struct download_ask {
  std::string user;
  std::string id;
};
std::optional<download_ask> admit_download(http_exchange& ex, const file_access& access);

// Whether `rec` may go to `user` (posted, and a reader of its feed); existence is not disclosed:
// otherwise answered 404.
bool may_download(http_exchange& ex, const file_access& access, const std::string& user,
                  const std::optional<upload_record>& rec);

// The headers that make a file inert wherever it is opened; then a 304 answered when the
// client's copy is this one (true), or nothing (false).
bool answer_headers(http_exchange& ex, http_response& res, const upload_record& rec);

}  // namespace duplex::chat
