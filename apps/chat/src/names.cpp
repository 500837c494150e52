#include "names.hpp"

#include <array>
#include <optional>
#include <utility>

#include "names_icu.hpp"
#include "names_rules.hpp"

namespace duplex::chat::names {

namespace {

using icu::UnicodeString;
using rules::string_class;

checked refused(reason why, char32_t offender = 0) {
  checked out;
  out.why = why;
  out.offender = offender;
  return out;
}

// Applies `step` until the string stops changing, so that the result is its own canonical
// form (RFC 8264 section 7 warns that one pass may not be enough: NFKC can make new spaces).
template <class Step>
std::optional<UnicodeString> settled(UnicodeString s, Step step) {
  for (int round = 0; round < 4; ++round) {
    UnicodeString next = step(s);
    if (next == s) return s;
    s = std::move(next);
  }
  return std::nullopt;
}

struct profile {
  string_class cls;
  URestrictionLevel loosest;
  bool bidi_rule;
};

// The checks both profiles share, once `display` and `key` are mapped.
checked finish(const icu_kit::toolkit& kit, const profile& p, const UnicodeString& display,
               const UnicodeString& key, const limits& lim) {
  if (display.isEmpty()) return refused(reason::empty);
  for (const UnicodeString* s : {&display, &key})
    if (const auto f = rules::check_class(*s, p.cls); f.why != reason::ok)
      return refused(f.why, f.at);
  checked out;
  out.display = icu_kit::to_utf8(display);
  if (static_cast<std::size_t>(display.countChar32()) > lim.max_code_points ||
      out.display.size() > lim.max_bytes)
    return refused(reason::too_long);
  if (p.bidi_rule)
    if (const auto f = rules::check_bidi(display); f.why != reason::ok) return refused(f.why, f.at);
  if (const reason r = icu_kit::spoof_check(kit, display, p.loosest); r != reason::ok)
    return refused(r);
  UnicodeString look;
  if (!icu_kit::skeleton(kit, display, look)) return refused(reason::internal);
  out.key = icu_kit::to_utf8(key);
  out.skeleton = icu_kit::to_utf8(look);
  return out;
}

// What every profile does before its own mappings: bound the work, then decode.
std::optional<checked> decode(std::string_view input, const limits& lim, UnicodeString& out) {
  if (icu_kit::get() == nullptr) return refused(reason::internal);
  if (input.size() > 4 * lim.max_bytes) return refused(reason::too_long);
  if (!icu_kit::from_utf8(input, out)) return refused(reason::invalid_utf8);
  if (const auto f = rules::check_never_valid(out); f.why != reason::ok)
    return refused(f.why, f.at);
  return std::nullopt;
}

struct wording {
  std::string_view code;
  std::string_view message;
};

constexpr std::array<wording, 20> words{{
    {"ok", "The name is accepted."},
    {"name_empty", "A name needs at least one visible character."},
    {"name_too_long", "The name is too long."},
    {"name_invalid_utf8", "The name is not valid UTF-8 text."},
    {"name_control", "The name contains a control character or a line break."},
    {"name_format",
     "The name contains an invisible formatting character (a zero-width space or joiner, a "
     "direction mark or a byte-order mark)."},
    {"name_invisible",
     "The name contains a character that shows nothing (a Hangul filler, a variation "
     "selector or a blank Braille pattern)."},
    {"name_unassigned", "The name contains a code point that is not a character (yet)."},
    {"name_private_use",
     "The name contains a private-use character, which every device draws differently."},
    {"name_space", "A sign-in name cannot contain spaces."},
    {"name_symbol", "A sign-in name may hold letters, digits, '.', '_' and '-' only."},
    {"name_compatibility",
     "The name contains a compatibility form (a ligature, superscript, circled or styled "
     "letter); type the plain letter instead."},
    {"name_disallowed", "The name contains a character that names may not use."},
    {"name_context",
     "A character is out of place: a combining mark at the start, a middle dot not between "
     "two l, or Arabic digits of two styles."},
    {"name_bidi",
     "A right-to-left sign-in name must start with a right-to-left letter, end with one or a "
     "digit, and hold no left-to-right letters."},
    {"name_mixed_script",
     "The name mixes scripts the way look-alike names do (Latin with Cyrillic, say)."},
    {"name_mixed_numbers", "The name mixes digits of different number systems."},
    {"name_stacked_marks",
     "The name repeats a combining mark or puts a dot on a letter that already has one."},
    {"name_unstable", "The name does not settle on one form; choose another."},
    {"name_internal", "The server could not check the name; try again."},
}};
static_assert(words.size() == static_cast<std::size_t>(reason::internal) + 1);

}  // namespace

checked username(std::string_view input, const limits& lim) {
  UnicodeString raw;
  if (auto early = decode(input, lim, raw)) return std::move(*early);
  const icu_kit::toolkit& kit = *icu_kit::get();
  UErrorCode st = U_ZERO_ERROR;
  // UsernameCasePreserved: width mapping, then NFC.
  const auto display = settled(raw, [&](const UnicodeString& s) {
    return kit.nfc->normalize(icu_kit::width_mapped(kit, s), st);
  });
  if (!display) return refused(reason::unstable);
  // UsernameCaseMapped adds case mapping before NFC; full folding, as RFC 8264 section 5.2.3,
  // with small capitals counted as capitals.
  const auto key = settled(*display, [&](const UnicodeString& s) {
    const UnicodeString plain = icu_kit::small_capitals_lowered(kit, icu_kit::width_mapped(kit, s));
    return kit.nfc->normalize(icu_kit::folded(plain), st);
  });
  if (U_FAILURE(st)) return refused(reason::internal);
  if (!key) return refused(reason::unstable);
  return finish(kit, {string_class::identifier, USPOOF_HIGHLY_RESTRICTIVE, true}, *display, *key,
                lim);
}

checked nickname(std::string_view input, const limits& lim) {
  UnicodeString raw;
  if (auto early = decode(input, lim, raw)) return std::move(*early);
  const icu_kit::toolkit& kit = *icu_kit::get();
  UErrorCode st = U_ZERO_ERROR;
  // RFC 8266: the space mapping, then NFKC, which can yield spaces of its own (U+00A8 is
  // U+0020 U+0308), hence the settling.
  const auto display = settled(raw, [&](const UnicodeString& s) {
    return kit.nfkc->normalize(icu_kit::spaces_mapped(s), st);
  });
  if (!display) return refused(reason::unstable);
  // The comparison form adds case mapping (small capitals counting as capitals); NFKC_Casefold
  // is fold + NFKC closed under itself.
  const auto key = settled(*display, [&](const UnicodeString& s) {
    return kit.nfkc_casefold->normalize(icu_kit::small_capitals_lowered(kit, s), st);
  });
  if (U_FAILURE(st)) return refused(reason::internal);
  if (!key) return refused(reason::unstable);
  return finish(kit, {string_class::freeform, USPOOF_MODERATELY_RESTRICTIVE, false}, *display, *key,
                lim);
}

std::string skeleton(std::string_view display) {
  const icu_kit::toolkit* kit = icu_kit::get();
  UnicodeString s, look;
  if (kit == nullptr || !icu_kit::from_utf8(display, s) || !icu_kit::skeleton(*kit, s, look))
    return {};
  return icu_kit::to_utf8(look);
}

bool ready() {
  return icu_kit::get() != nullptr;
}

namespace {

const wording& words_for(reason why) {
  const auto i = static_cast<std::size_t>(why);
  return i < words.size() ? words[i] : words.back();
}

}  // namespace

std::string_view code(reason why) {
  return words_for(why).code;
}

std::string_view message(reason why) {
  return words_for(why).message;
}

}  // namespace duplex::chat::names
