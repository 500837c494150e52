// Names people can tell apart: the PRECIS sign-in and display-name profiles and look-alike keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::chat::names {

// Why a name was refused; `ok` when it was not. Each has a wire code and a sentence (below).
enum class reason : std::uint8_t {
  ok,
  empty,          // nothing left once spaces are trimmed
  too_long,       // over the limits in code points or bytes
  invalid_utf8,   // not UTF-8 (overlong forms, surrogates and stray bytes included)
  control,        // a control character or a line/paragraph separator
  format,         // a format character (Cf): zero-width space/joiners, BOM, bidi marks
  invisible,      // drawn as nothing: Hangul fillers, variation selectors, blank Braille
  unassigned,     // not a character in ICU's Unicode version, or a noncharacter
  private_use,    // private use: drawn differently by every device
  space,          // a space in a sign-in name
  symbol,         // punctuation or a symbol in a sign-in name (only `.`, `_`, `-` are allowed)
  compatibility,  // a compatibility form in a sign-in name (ligature, superscript, ①)
  disallowed,     // other code points PRECIS refuses: old Hangul jamo, tatweel, U+FFFD...
  context,        // out of context: a leading combining mark, a middle dot not in `l·l`...
  bidi,           // a right-to-left sign-in name that breaks RFC 5893's Bidi Rule
  mixed_script,   // scripts mixed as look-alikes are (Latin with Cyrillic...), per TR #39
  mixed_numbers,  // digits of different number systems
  stacked_marks,  // a combining mark repeated, or a dot over a letter that has one (TR #39)
  unstable,       // the mappings did not settle on one form (kept so every input has an answer)
  internal,       // ICU failed (memory): the server could not check the name
};

// Limits of the canonical form; the raw input is refused above 4 × max_bytes before any work.
struct limits {
  std::size_t max_code_points = 32;
  std::size_t max_bytes = 128;
};

// A checked name. Store `key` and `skeleton` as unique: equal keys are the same name (case,
// width and composition aside), equal skeletons are names that look the same.
struct checked {
  reason why = reason::ok;
  char32_t offender = 0;  // the code point to blame, when one is; 0 otherwise
  std::string display;    // the canonical form to show and store (case kept)
  std::string key;        // the comparison form (case folded)
  std::string skeleton;   // the TR #39 look-alike key of `display`
  explicit operator bool() const { return why == reason::ok; }
};

// RFC 8265 usernames, for signing in: letters, marks and digits of one script (or Latin with
// Han and kana, bopomofo or Hangul), and `.`, `_`, `-`; no spaces. `display` is the
// UsernameCasePreserved form (width-mapped, NFC), `key` the UsernameCaseMapped one (then full
// Unicode case folding).
checked username(std::string_view input, const limits& lim = {});

// RFC 8266 nicknames, for display: any letters, digits, punctuation, symbols and single inner
// spaces; every Unicode space becomes U+0020, runs collapse, ends are trimmed, then NFKC. Mixed
// scripts are allowed where TR #39 calls them moderately restrictive (Latin with Arabic, say;
// never with Cyrillic, Greek or Cherokee). `key` is NFKC_Casefold of `display`.
checked nickname(std::string_view input, const limits& lim = {});

// The look-alike key of an accepted display form (as in checked::skeleton): TR #39's skeleton
// of the case-kept form, then case folded, so `BiII`, `Bill` and `bill` share one.
std::string skeleton(std::string_view display);

// Sets ICU up and reports whether it works. Call it once at start-up, so that a broken ICU
// stops the server rather than every sign-up; the functions above otherwise answer `internal`.
// Every function here is safe to call from any number of threads at once.
bool ready();

// `name_` + the reason, e.g. "name_format", for the protocol's error codes.
std::string_view code(reason why);
// One sentence for a person, e.g. "The name contains an invisible formatting character."
std::string_view message(reason why);

// --- What the hub asks of a proposed nickname and a room name ---

// The verdict on a proposed nickname (the RFC 8266 profile above).
struct result {
  bool ok = false;
  std::string name;      // the canonical display form
  std::string key;       // as key(name)
  std::string skeleton;  // as look_alike_key(name)
  std::string code;      // the protocol's error code when refused, e.g. "name_format"
  std::string reason;    // why it was refused, one sentence for the client
  explicit operator bool() const noexcept { return ok; }
};
result validate(std::string_view nick);
// What must be unique among nicknames in use: two names with one key are one name. Empty for a
// name the profile refuses, so such a name designates nobody.
std::string key(std::string_view nick);
// The look-alike key (TR #39) of a name: two names with one skeleton may not both be in use.
// Empty for a refused name.
std::string look_alike_key(std::string_view nick);

// Rooms: 1 to 32 of [a-zA-Z0-9_-].
bool valid_room(std::string_view room);
// The room a name designates (letters folded to lower case), valid or not.
std::string room_key(std::string_view room);

}  // namespace duplex::chat::names
