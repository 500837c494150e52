// chat::names on any bytes: both profiles answer without crashing, what they accept is within
// the limits and is its own canonical form (same display, key and skeleton when checked again).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/names.hpp"

namespace {

namespace names = duplex::chat::names;
using profile_fn = names::checked (*)(std::string_view, const names::limits&);

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void check_refusal(const names::checked& r) {
  FUZZ_CHECK(!names::code(r.why).empty() && !names::message(r.why).empty());
  FUZZ_CHECK(r.display.empty() && r.key.empty() && r.skeleton.empty());
  FUZZ_CHECK(r.offender <= 0x10FFFF);
  FUZZ_CHECK(r.why != names::reason::internal && r.why != names::reason::unstable);
}

// Checked again, an accepted name is accepted unchanged, and so is its key.
void check_accepted(profile_fn profile, const names::checked& r) {
  const names::limits lim;
  FUZZ_CHECK(!r.display.empty() && !r.key.empty() && !r.skeleton.empty());
  FUZZ_CHECK(code_points(r.display) <= lim.max_code_points && r.display.size() <= lim.max_bytes);
  FUZZ_CHECK(names::skeleton(r.display) == r.skeleton);
  const names::checked again = profile(r.display, lim);
  FUZZ_CHECK(again.why == names::reason::ok);
  FUZZ_CHECK(again.display == r.display && again.key == r.key && again.skeleton == r.skeleton);
  // A key is a comparison form, not always a name itself (İ folds to i + U+0307, which the
  // overlay check refuses); when it is one, it keys to itself.
  const names::checked of_key = profile(r.key, lim);
  if (of_key) FUZZ_CHECK(of_key.key == r.key);
}

void append_utf8(std::string& out, char32_t c) {
  const int tail = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
  constexpr unsigned lead[] = {0x00, 0xC0, 0xE0, 0xF0};
  out.push_back(static_cast<char>(lead[tail] | (c >> (6 * tail))));
  for (int k = tail - 1; k >= 0; --k)
    out.push_back(static_cast<char>(0x80 | ((c >> (6 * k)) & 0x3F)));
}

// Random bytes are seldom UTF-8, and ICU is not instrumented to guide the fuzzer to the
// characters that matter; so an input starting with 0xFF (never UTF-8 anyway) is read as code
// points: a byte below 0x80 is itself, any other byte takes two more to name any code point.
std::string text_of(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || data[0] != 0xFF) return {reinterpret_cast<const char*>(data), size};
  std::string out;
  for (std::size_t i = 1; i < size;) {
    char32_t c = data[i++];
    if (c >= 0x80) {
      for (int k = 0; k < 2; ++k)
        c = (c << 8) | (i < size ? data[i++] : 0);
      c = (c & 0x7FFFFF) % 0x110000;
      if (c >= 0xD800 && c <= 0xDFFF) c += 0x800;  // surrogates are not code points
    }
    append_utf8(out, c);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input = text_of(data, size);
  const names::checked user = names::username(input);
  const names::checked nick = names::nickname(input);
  for (const auto& [profile, r] : {std::pair{profile_fn{names::username}, &user},
                                   std::pair{profile_fn{names::nickname}, &nick}}) {
    if (*r)
      check_accepted(profile, *r);
    else
      check_refusal(*r);
  }
  if (nick) {
    const std::string& d = nick.display;
    FUZZ_CHECK(d.front() != ' ' && d.back() != ' ' && d.find("  ") == std::string::npos);
  }
  // A sign-in name is also a display name, the same one under the same key.
  if (user) {
    const names::checked as_nick = names::nickname(user.display);
    FUZZ_CHECK(as_nick && as_nick.display == user.display && as_nick.key == user.key);
  }
  return 0;
}
