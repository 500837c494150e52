// The feed of a private conversation: one name for the messages of two users, in the store
// beside the rooms' feeds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace duplex::chat::conversations {

// "@" + the smaller key + "\n" + the larger: the same feed whoever writes first. No room name
// starts with '@', and no name key holds a '\n' (both name profiles refuse controls), so the
// name is never a room's and splits one way only.
std::string feed_of(std::string_view key_a, std::string_view key_b);
bool is_conversation(std::string_view feed) noexcept;
// The two keys of a conversation's feed, smaller first; nothing for any other name.
std::optional<std::pair<std::string, std::string>> members(std::string_view feed);

}  // namespace duplex::chat::conversations
