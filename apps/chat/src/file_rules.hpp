// Who may upload a file for a feed, and who may fetch a posted one: room members (not banned, not
// muted, for an upload) and the two users of a conversation. Pure rules over the room directory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "room_directory.hpp"

namespace duplex::chat {

// The key of the registered user shown under a name, as clients write it; nothing if none.
using user_key_of = std::function<std::optional<std::string>(std::string_view shown)>;

struct upload_target {
  int status = 0;    // 0: allowed; else the HTTP status of the refusal
  std::string code;  // the error code, with `why` the message
  std::string why;
  std::string feed;  // when allowed
};

// `query`: the upload's query string, "room=NAME" or "with=NAME" (percent-encoded). A room the
// user is not a member of, or a user that does not exist, is 404 (the page names only those);
// a ban 403, a mute 403 ("muted").
upload_target upload_target_of(room_directory& rooms, const user_key_of& key_of,
                               std::string_view user, std::string_view query, std::int64_t now_ms);

// Whether `user` may read `feed` now: a member of the room, not banned; or one of the two users
// of the conversation.
bool may_read(room_directory& rooms, std::string_view user, std::string_view feed);

}  // namespace duplex::chat
