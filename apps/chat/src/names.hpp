// Who may be called what: the rules for nicknames and room names. Callers see only validate()
// and key(), so the rules inside (hand-written today; PRECIS and confusable skeletons later)
// can change without touching the hub.
#pragma once

#include <string>
#include <string_view>

namespace duplex::chat::names {

// The verdict on a proposed nickname.
struct result {
  bool ok = false;
  std::string name;    // as it is to be shown: the proposal, once prepared
  std::string reason;  // why it was refused, for the client's error message
  explicit operator bool() const noexcept { return ok; }
};

// Nicknames: 1 to 32 printable characters, no control, invisible or bidi-override characters,
// no space at either end.
result validate(std::string_view nick);
// What must be unique among the nicknames in use: two names with one key are one name.
std::string key(std::string_view nick);

// Rooms: 1 to 32 of [a-zA-Z0-9_-].
bool valid_room(std::string_view room);
// The room a name designates (letters folded to lower case), valid or not.
std::string room_key(std::string_view room);

}  // namespace duplex::chat::names
