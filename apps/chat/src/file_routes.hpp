// The HTTP side of files: POST /api/files (the body streamed to disk) and GET /files/ID/NAME
// (docs/chat-protocol.md, "Files"), on duplex's server, with the account session and the
// Origin rule of the rest of the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "account_service.hpp"
#include "duplex/server/server.hpp"
#include "file_rules.hpp"
#include "uploads.hpp"

namespace duplex::chat {

struct file_settings {
  std::string dir;                               // blobs, and tmp/ for uploads under way
  std::size_t max_bytes = 10 * 1024 * 1024;      // a larger body: 413, connection closed
  std::size_t uploads_per_user = 2;              // at once; more: 429
  std::size_t uploads_total = 16;                // at once, all users; more: 503
  std::size_t max_unposted = 50;                 // uploads of a user no message carries yet
  std::int64_t unposted_ttl_ms = 24 * 3600'000;  // then they are forgotten and their blob goes
  // Empty: files work. Otherwise why they do not (--redis without --pg), answered 503 to uploads.
  std::string unavailable;
};

struct file_access {
  std::function<lookup(std::string_view cookie_header)> session;
  std::vector<std::string> origins;  // check_origin's allow-list
  room_directory* rooms = nullptr;
  user_key_of key_of;
};

// Adds both routes and the hourly sweep of uploads never posted. `store` and `access.rooms`
// must outlive the server's run.
void add_file_routes(server& srv, upload_store& store, const file_settings& settings,
                     file_access access);

}  // namespace duplex::chat
