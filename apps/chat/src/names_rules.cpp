#include "names_rules.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include <vector>

namespace duplex::chat::names::rules {

namespace {

bool in(UChar32 c, UChar32 lo, UChar32 hi) {
  return c >= lo && c <= hi;
}

// RFC 5892 section 2.6: code points whose PRECIS status is fixed by hand, not by category.
enum class exception { none, valid, disallowed, contextual };

exception exception_of(UChar32 c) {
  switch (c) {
    case 0x00DF:
    case 0x03C2:
    case 0x06FD:
    case 0x06FE:
    case 0x0F0B:
    case 0x3007:
      return exception::valid;
    case 0x0640:
    case 0x07FA:
    case 0x302E:
    case 0x302F:
    case 0x303B:
      return exception::disallowed;
    case 0x00B7:
    case 0x0375:
    case 0x05F3:
    case 0x05F4:
    case 0x30FB:
      return exception::contextual;
    default:
      break;
  }
  if (in(c, 0x3031, 0x3035)) return exception::disallowed;
  if (in(c, 0x0660, 0x0669) || in(c, 0x06F0, 0x06F9)) return exception::contextual;
  return exception::none;
}

// RFC 8264's HasCompat: the code point is not its own NFKC form (ligatures, superscripts,
// circled and styled letters, the non-breaking space...).
bool has_compat(UChar32 c) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) return true;  // refuse rather than guess
  const bool normal = nfkc->isNormalized(icu::UnicodeString(c), status);
  return U_FAILURE(status) || !normal;
}

bool old_hangul_jamo(UChar32 c) {
  const auto type = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
  return type == U_HST_LEADING_JAMO || type == U_HST_VOWEL_JAMO || type == U_HST_TRAILING_JAMO;
}

// Symbols and marks that fonts draw as nothing, yet Unicode does not call default-ignorable:
// the blank Braille pattern (the usual way to make a name that looks empty), the null notehead,
// the Khitan filler, and the object replacement character, which many fonts leave blank.
bool drawn_blank(UChar32 c) {
  return c == 0x2800 || c == 0x1D159 || c == 0x16FE4 || c == 0xFFFC;
}

// The reasons every class shares: what is never a visible character of its own.
reason never_valid(UChar32 c) {
  const auto gc = U_GET_GC_MASK(c);
  if ((gc & (U_GC_CN_MASK | U_GC_CS_MASK)) || u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT))
    return reason::unassigned;
  if (gc & U_GC_CO_MASK) return reason::private_use;
  if (gc & (U_GC_CC_MASK | U_GC_ZL_MASK | U_GC_ZP_MASK)) return reason::control;
  if (gc & U_GC_CF_MASK) return reason::format;  // ZWJ and ZWNJ too: their contexts are not kept
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return reason::invisible;
  if (drawn_blank(c)) return reason::invisible;
  if (c == 0xFFFD) return reason::disallowed;  // the mark of text that failed to decode
  if (old_hangul_jamo(c)) return reason::disallowed;
  return reason::ok;
}

// IdentifierClass, narrowed as RFC 8265 lets an application: of ASCII's punctuation only
// `.`, `_` and `-`, which sign-in names commonly use and no markup gives a meaning to.
reason identifier_code_point(UChar32 c) {
  const auto gc = U_GET_GC_MASK(c);
  if (gc & U_GC_ZS_MASK) return reason::space;
  if (c < 0x80) {
    const bool alnum = in(c, 'a', 'z') || in(c, 'A', 'Z') || in(c, '0', '9');
    return alnum || c == '.' || c == '_' || c == '-' ? reason::ok : reason::symbol;
  }
  if (has_compat(c)) return reason::compatibility;
  constexpr auto letter_digits = U_GC_LL_MASK | U_GC_LU_MASK | U_GC_LO_MASK | U_GC_ND_MASK |
                                 U_GC_LM_MASK | U_GC_MN_MASK | U_GC_MC_MASK;
  if (gc & letter_digits) return reason::ok;
  if (gc & (U_GC_P_MASK | U_GC_S_MASK)) return reason::symbol;
  return reason::disallowed;  // titlecase digraphs, letter-like and other numbers, enclosing marks
}

reason code_point(UChar32 c, string_class cls) {
  if (const reason r = never_valid(c); r != reason::ok) return r;
  switch (exception_of(c)) {
    case exception::valid:
    case exception::contextual:  // judged with its neighbours by check_context
      return reason::ok;
    case exception::disallowed:
      return reason::disallowed;
    case exception::none:
      break;
  }
  // FreeformClass takes letters, marks, numbers, punctuation, symbols and spaces alike.
  return cls == string_class::identifier ? identifier_code_point(c) : reason::ok;
}

UScriptCode script_of(UChar32 c) {
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode s = uscript_getScript(c, &status);
  return U_FAILURE(status) ? USCRIPT_INVALID_CODE : s;
}

// RFC 5892 appendix A's CONTEXTO rules, and no combining mark at the start (it would sit on
// whatever the page shows before the name).
finding check_context(const std::vector<UChar32>& cps) {
  bool arabic_indic = false, extended_arabic_indic = false, japanese = false;
  for (const UChar32 c : cps) {
    arabic_indic |= in(c, 0x0660, 0x0669);
    extended_arabic_indic |= in(c, 0x06F0, 0x06F9);
    const UScriptCode s = script_of(c);
    japanese |= s == USCRIPT_HIRAGANA || s == USCRIPT_KATAKANA || s == USCRIPT_HAN;
  }
  if (!cps.empty() && (U_GET_GC_MASK(cps.front()) & U_GC_M_MASK))
    return {reason::context, char32_t(cps.front())};
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const UChar32 c = cps[i];
    const UChar32 before = i > 0 ? cps[i - 1] : -1;
    const UChar32 after = i + 1 < cps.size() ? cps[i + 1] : -1;
    bool ok = true;
    if (c == 0x00B7)
      ok = before == 'l' && after == 'l';
    else if (c == 0x0375)
      ok = after >= 0 && script_of(after) == USCRIPT_GREEK;
    else if (c == 0x05F3 || c == 0x05F4)
      ok = before >= 0 && script_of(before) == USCRIPT_HEBREW;
    else if (c == 0x30FB)
      ok = japanese;
    else if (in(c, 0x0660, 0x0669))
      ok = !extended_arabic_indic;
    else if (in(c, 0x06F0, 0x06F9))
      ok = !arabic_indic;
    if (!ok) return {reason::context, char32_t(c)};
  }
  return {};
}

std::vector<UChar32> code_points(const icu::UnicodeString& s) {
  std::vector<UChar32> out;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1))
    out.push_back(s.char32At(i));
  return out;
}

}  // namespace

finding check_class(const icu::UnicodeString& s, string_class cls) {
  const std::vector<UChar32> cps = code_points(s);
  for (const UChar32 c : cps)
    if (const reason r = code_point(c, cls); r != reason::ok) return {r, char32_t(c)};
  return check_context(cps);
}

finding check_never_valid(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    if (const reason r = never_valid(c); r != reason::ok && r != reason::disallowed)
      return {r, char32_t(c)};
  }
  return {};
}

finding check_bidi(const icu::UnicodeString& s) {
  const std::vector<UChar32> cps = code_points(s);
  auto mask = [](UChar32 c) { return U_MASK(u_charDirection(c)); };
  const auto rtl = U_MASK(U_RIGHT_TO_LEFT) | U_MASK(U_RIGHT_TO_LEFT_ARABIC);
  bool any_rtl = false;
  for (const UChar32 c : cps)
    any_rtl |= (mask(c) & (rtl | U_MASK(U_ARABIC_NUMBER))) != 0;
  if (!any_rtl || cps.empty()) return {};  // RFC 8265 applies the rule only to right-to-left names
  if (!(mask(cps.front()) & rtl)) return {reason::bidi, char32_t(cps.front())};
  const auto allowed = rtl | U_MASK(U_ARABIC_NUMBER) | U_MASK(U_EUROPEAN_NUMBER) |
                       U_MASK(U_EUROPEAN_NUMBER_SEPARATOR) | U_MASK(U_COMMON_NUMBER_SEPARATOR) |
                       U_MASK(U_EUROPEAN_NUMBER_TERMINATOR) | U_MASK(U_OTHER_NEUTRAL) |
                       U_MASK(U_BOUNDARY_NEUTRAL) | U_MASK(U_DIR_NON_SPACING_MARK);
  bool european = false, arabic = false;
  for (const UChar32 c : cps) {
    if (!(mask(c) & allowed)) return {reason::bidi, char32_t(c)};
    european |= u_charDirection(c) == U_EUROPEAN_NUMBER;
    arabic |= u_charDirection(c) == U_ARABIC_NUMBER;
    if (european && arabic) return {reason::bidi, char32_t(c)};  // one kind of digits only
  }
  std::size_t last = cps.size();
  while (last > 0 && u_charDirection(cps[last - 1]) == U_DIR_NON_SPACING_MARK)
    --last;
  const auto end_ok = rtl | U_MASK(U_EUROPEAN_NUMBER) | U_MASK(U_ARABIC_NUMBER);
  if (last == 0 || !(mask(cps[last - 1]) & end_ok))
    return {reason::bidi, char32_t(cps[last == 0 ? 0 : last - 1])};
  return {};
}

}  // namespace duplex::chat::names::rules
