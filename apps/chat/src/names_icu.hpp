// The ICU objects chat::names shares across threads, and the string mappings built on them.
#pragma once

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "names.hpp"

namespace duplex::chat::names::icu_kit {

// Built once, on first use (a function-local static, so concurrent first calls wait for one
// construction); afterwards only read. The normalizers are ICU's own immutable singletons, and
// ICU documents a USpoofChecker's check and skeleton functions, which take it const, as safe
// to call concurrently on one instance. Each call keeps its own USpoofCheckResult.
struct toolkit {
  const icu::Normalizer2* nfc = nullptr;
  const icu::Normalizer2* nfd = nullptr;
  const icu::Normalizer2* nfkc = nullptr;
  const icu::Normalizer2* nfkc_casefold = nullptr;
  const USpoofChecker* spoof = nullptr;
  // Small capitals (U+0274 ɴ) and the small letters they stand for (n), sorted by the first.
  std::vector<std::pair<UChar32, UChar32>> small_capitals;
};

// The toolkit, or nullptr if ICU could not be set up.
const toolkit* get();

// False on ill-formed UTF-8 (overlong forms, encoded surrogates, truncated sequences, > U+10FFFF).
bool from_utf8(std::string_view in, icu::UnicodeString& out);
std::string to_utf8(const icu::UnicodeString& s);

// RFC 8264's width mapping: fullwidth and halfwidth forms become their ordinary ones.
icu::UnicodeString width_mapped(const toolkit& kit, const icu::UnicodeString& s);
// RFC 8266's additional mapping: any Unicode space becomes U+0020, runs collapse, ends trimmed.
icu::UnicodeString spaces_mapped(const icu::UnicodeString& s);
// Small capitals as the small letters they are drawn like (`Aɴn` is `Ann`): Unicode gives
// them no case or compatibility mapping, so neither folding nor TR #39 would join them.
icu::UnicodeString small_capitals_lowered(const toolkit& kit, const icu::UnicodeString& s);
// Full Unicode default case folding (ß → ss, K-sign → k), not a per-letter lower-casing.
icu::UnicodeString folded(const icu::UnicodeString& s);

// TR #39 checks of `s`: stacked marks, mixed digit systems, and a restriction level looser
// than `loosest` (reason::mixed_script). reason::internal if ICU failed.
reason spoof_check(const toolkit& kit, const icu::UnicodeString& s, URestrictionLevel loosest);
// The look-alike key: fold(skeleton(upper(fold(skeleton(s))))) in NFD, so that every case form
// of a name and their look-alikes share it; false if ICU failed.
bool skeleton(const toolkit& kit, const icu::UnicodeString& s, icu::UnicodeString& out);

}  // namespace duplex::chat::names::icu_kit
