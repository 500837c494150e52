#include "names_icu.hpp"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <algorithm>

namespace duplex::chat::names::icu_kit {

namespace {

// Every small capital whose name has a small letter to match: `LATIN LETTER SMALL CAPITAL N`
// is `LATIN SMALL LETTER N`, `GREEK LETTER SMALL CAPITAL GAMMA` is `GREEK SMALL LETTER GAMMA`.
// Taken from ICU's names rather than typed in, so new ones come with ICU.
std::vector<std::pair<UChar32, UChar32>> find_small_capitals() {
  static constexpr std::pair<UChar32, UChar32> blocks[] = {
      {0x0250, 0x02AF}, {0x1D00, 0x1DBF}, {0xA720, 0xA7FF}, {0x1DF00, 0x1DFFF}};
  std::vector<std::pair<UChar32, UChar32>> out;
  for (const auto& [lo, hi] : blocks)
    for (UChar32 c = lo; c <= hi; ++c) {
      char buf[128];
      UErrorCode st = U_ZERO_ERROR;
      const int32_t n = u_charName(c, U_UNICODE_CHAR_NAME, buf, sizeof buf, &st);
      if (U_FAILURE(st) || n <= 0) continue;
      std::string name(buf, static_cast<std::size_t>(n));
      for (const std::string_view marker : {" LETTER SMALL CAPITAL ", " SMALL CAPITAL LETTER "}) {
        const auto at = name.find(marker);
        if (at == std::string::npos) continue;
        const std::string small =
            name.substr(0, at) + " SMALL LETTER " + name.substr(at + marker.size());
        st = U_ZERO_ERROR;
        const UChar32 letter = u_charFromName(U_UNICODE_CHAR_NAME, small.c_str(), &st);
        if (U_SUCCESS(st)) out.emplace_back(c, letter);
        break;
      }
    }
  return out;  // the blocks are scanned in order, so already sorted
}

// Owns the spoof checker: its setters take it non-const, so they all run here, before any
// other thread can see it.
class owner {
 public:
  owner() {
    UErrorCode st = U_ZERO_ERROR;
    kit_.nfc = icu::Normalizer2::getNFCInstance(st);
    kit_.nfd = icu::Normalizer2::getNFDInstance(st);
    kit_.nfkc = icu::Normalizer2::getNFKCInstance(st);
    kit_.nfkc_casefold = icu::Normalizer2::getNFKCCasefoldInstance(st);
    checker_ = uspoof_open(&st);
    // AUX_INFO makes the result carry the restriction level, which each profile compares with
    // its own bound; the checker's own level then does not matter.
    uspoof_setChecks(checker_,
                     USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE | USPOOF_MIXED_NUMBERS |
                         USPOOF_HIDDEN_OVERLAY | USPOOF_AUX_INFO,
                     &st);
    uspoof_setRestrictionLevel(checker_, USPOOF_MODERATELY_RESTRICTIVE);
    kit_.spoof = checker_;
    kit_.small_capitals = find_small_capitals();
    ok_ = U_SUCCESS(st);
  }
  ~owner() { uspoof_close(checker_); }
  owner(const owner&) = delete;
  owner& operator=(const owner&) = delete;

  const toolkit* get() const { return ok_ ? &kit_ : nullptr; }

 private:
  toolkit kit_;
  USpoofChecker* checker_ = nullptr;
  bool ok_ = false;
};

}  // namespace

const toolkit* get() {
  static const owner instance;
  return instance.get();
}

bool from_utf8(std::string_view in, icu::UnicodeString& out) {
  out.remove();
  if (in.empty()) return true;
  // UTF-16 never needs more units than UTF-8 has bytes.
  const auto cap = static_cast<int32_t>(in.size());
  UChar* buf = out.getBuffer(cap);
  if (buf == nullptr) return false;
  UErrorCode st = U_ZERO_ERROR;
  int32_t len = 0;
  u_strFromUTF8(buf, out.getCapacity(), &len, in.data(), cap, &st);
  out.releaseBuffer(U_SUCCESS(st) ? len : 0);
  return U_SUCCESS(st);
}

std::string to_utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

icu::UnicodeString width_mapped(const toolkit& kit, const icu::UnicodeString& s) {
  icu::UnicodeString out;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    const auto type = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
    icu::UnicodeString plain;
    if ((type == U_DT_WIDE || type == U_DT_NARROW) && kit.nfkc->getDecomposition(c, plain))
      out.append(plain);
    else
      out.append(c);
  }
  return out;
}

icu::UnicodeString spaces_mapped(const icu::UnicodeString& s) {
  icu::UnicodeString out;
  bool space_pending = false;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    if (U_GET_GC_MASK(c) & U_GC_ZS_MASK) {
      space_pending = !out.isEmpty();  // none before the first character
      continue;
    }
    if (space_pending) out.append(u' ');
    space_pending = false;
    out.append(c);
  }
  return out;  // a pending space at the end is dropped
}

icu::UnicodeString small_capitals_lowered(const toolkit& kit, const icu::UnicodeString& s) {
  icu::UnicodeString out;
  const auto& table = kit.small_capitals;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    const auto it = std::lower_bound(table.begin(), table.end(), std::pair<UChar32, UChar32>{c, 0});
    out.append(it != table.end() && it->first == c ? it->second : c);
  }
  return out;
}

icu::UnicodeString folded(const icu::UnicodeString& s) {
  icu::UnicodeString out(s);
  out.foldCase(U_FOLD_CASE_DEFAULT);
  return out;
}

reason spoof_check(const toolkit& kit, const icu::UnicodeString& s, URestrictionLevel loosest) {
  UErrorCode st = U_ZERO_ERROR;
  icu::LocalUSpoofCheckResultPointer result(uspoof_openCheckResult(&st));
  const int32_t found = uspoof_check2UnicodeString(kit.spoof, s, result.getAlias(), &st);
  const URestrictionLevel level = uspoof_getCheckResultRestrictionLevel(result.getAlias(), &st);
  if (U_FAILURE(st)) return reason::internal;
  if (found & (USPOOF_INVISIBLE | USPOOF_HIDDEN_OVERLAY)) return reason::stacked_marks;
  if (found & USPOOF_MIXED_NUMBERS) return reason::mixed_numbers;
  // Levels grow looser as their values grow, from USPOOF_ASCII to USPOOF_UNRESTRICTIVE.
  if (level > loosest) return reason::mixed_script;
  return reason::ok;
}

namespace {

// fold(skeleton(s)), in NFD. Of the case-kept form, then folded: folding first loses
// confusables that exist only in one case (Cyrillic `АВС` is `ABC`, but `авс` is not `abc`;
// `BiII` is `Bill`), and ICU's skeletons are not lower case (`0` becomes `O`), so without the
// fold `b0b` and `bob` differ.
bool folded_skeleton(const toolkit& kit, const icu::UnicodeString& s, icu::UnicodeString& out) {
  UErrorCode st = U_ZERO_ERROR;
  icu::UnicodeString raw;
  uspoof_getSkeletonUnicodeString(kit.spoof, 0, small_capitals_lowered(kit, s), raw, &st);
  if (U_FAILURE(st)) return false;
  out = kit.nfd->normalize(folded(raw), st);
  return U_SUCCESS(st);
}

}  // namespace

bool skeleton(const toolkit& kit, const icu::UnicodeString& s, icu::UnicodeString& out) {
  // A name is one person in every case (`ALICE` is `alice`), so a name that looks like any case
  // form of a taken one must collide with it: `ALlCE`, with a small L, looks like `ALICE`, not
  // like `alice`. Taking the skeleton again of the first one's upper case puts every case form
  // and its look-alikes on one key. It also joins some names that differ only in a letter that
  // is ambiguous in one case (`kai` and `kal`: `KAI`, `KAl`): a refusal we accept.
  icu::UnicodeString once;
  if (!folded_skeleton(kit, s, once)) return false;
  once.toUpper(icu::Locale::getRoot());
  return folded_skeleton(kit, once, out);
}

}  // namespace duplex::chat::names::icu_kit
