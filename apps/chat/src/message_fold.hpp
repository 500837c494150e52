// Edits, deletions and reactions (issue 14, item 3): events stored in a feed like messages, and
// the rule that folds them into the message they name, the same in every store and the page.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "store.hpp"

namespace duplex::chat::fold {

// Distinct emoji on one message, and people per emoji: a message's row stays bounded.
inline constexpr std::size_t max_reactions = 20;
inline constexpr std::size_t max_reactors = 200;
// An emoji as a reaction carries it, in bytes (a family with skin tones fits).
inline constexpr std::size_t max_emoji_bytes = 32;

// The event kinds: an entry of another kind (or none) is a message.
bool is_event_kind(std::string_view kind) noexcept;
inline bool is_event(const stored_message& e) noexcept {
  return is_event_kind(e.kind);
}
inline bool deleted(const stored_message& m) noexcept {
  return m.kind.empty() && m.text.empty() && m.file.empty();
}
// What clients are given: every event, every message, and the tombstones of deletions by their
// authors (edited_ms set); a moderator's erase (docs/chat-protocol.md) leaves nothing to show.
inline bool shown(const stored_message& m) noexcept {
  return !deleted(m) || m.edited_ms != 0;
}

// Applies event `e` to message `m` (the one e.ref_id names). Returns whether `m` changed.
// The rules: nothing changes a deleted message; only its author (by key) edits or deletes it;
// an edit sets the text and the edit time; a deletion empties text and reactions; "react" adds
// e.nick under the emoji in e.text (a new emoji only below max_reactions), "unreact" takes it
// away. Each is idempotent, so an event applied to a state that already holds it (a history
// read after it was stored, then the event itself) changes nothing.
bool apply(stored_message& m, const stored_message& e);

// Whether `emoji` is one emoji grapheme (with its modifiers and joiners), at most
// max_emoji_bytes: what a reaction may be.
bool valid_emoji(std::string_view emoji);

// Reactions as a store keeps them in one column: a JSON array [[emoji, [nick, ...]], ...].
// Decoding never throws: anything malformed is no reaction.
std::string encode_reactions(const std::vector<reaction>& r);
std::vector<reaction> decode_reactions(std::string_view text);

}  // namespace duplex::chat::fold
