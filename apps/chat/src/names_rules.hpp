// The PRECIS code-point rules behind chat::names (RFC 8264 classes, RFC 5892 contexts, RFC 5893).
#pragma once

#include <unicode/unistr.h>

#include "names.hpp"

namespace duplex::chat::names::rules {

// PRECIS string classes: IdentifierClass for sign-in names, FreeformClass for display names.
enum class string_class { identifier, freeform };

// The first rejected code point of `s` and why, or {reason::ok, 0}. Checks each code point
// against the class, then the contextual rules (which need the whole string).
struct finding {
  reason why = reason::ok;
  char32_t at = 0;
};
finding check_class(const icu::UnicodeString& s, string_class cls);

// The first code point of `s` that no class allows (controls, format and other invisible
// characters, unassigned and private-use code points): run on the input as typed, so the
// offender named is the one the person typed, not what a mapping made of it.
finding check_never_valid(const icu::UnicodeString& s);

// RFC 5893's Bidi Rule, which RFC 8265 applies to usernames holding right-to-left characters.
finding check_bidi(const icu::UnicodeString& s);

}  // namespace duplex::chat::names::rules
