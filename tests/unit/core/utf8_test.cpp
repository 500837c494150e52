#include "duplex/core/utf8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "support/splits.hpp"

namespace duplex::core {
namespace {

struct sample {
  const char* name;
  std::string bytes;
  bool valid;
};

const std::vector<sample>& samples() {
  static const std::vector<sample> s = {
      {"empty", "", true},
      {"ascii", "hello, world", true},
      {"two byte", "\xC2\xA2", true},
      {"three byte", "\xE2\x82\xAC", true},
      {"four byte", "\xF0\x9F\x98\x80", true},
      {"max code point", "\xF4\x8F\xBF\xBF", true},
      {"replacement char", "\xEF\xBF\xBD", true},
      {"mixed", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", true},
      {"overlong two byte", "\xC0\x80", false},
      {"overlong C1", "\xC1\xBF", false},
      {"overlong three byte", "\xE0\x80\x80", false},
      {"overlong E0 9F", "\xE0\x9F\xBF", false},
      {"overlong four byte", "\xF0\x80\x80\x80", false},
      {"overlong F0 8F", "\xF0\x8F\xBF\xBF", false},
      {"surrogate low end", "\xED\xA0\x80", false},
      {"surrogate high end", "\xED\xBF\xBF", false},
      {"above U+10FFFF", "\xF4\x90\x80\x80", false},
      {"F5 lead", "\xF5\x80\x80\x80", false},
      {"FF byte", "\xFF", false},
      {"lone continuation", "\x80", false},
      {"continuation after ascii", "a\xBF", false},
      {"lead then ascii",
       "\xC2"
       "a",
       false},
      {"truncated at end", "\xE2\x82", false},
      {"autobahn 6.3.1",
       "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80\x65\x64\x69\x74\x65\x64", false},
  };
  return s;
}

bool validate_in_pieces(const test::pieces& parts) {
  utf8_validator v;
  for (const auto& p : parts)
    v.feed(p);
  return v.complete();
}

TEST(Utf8, SamplesGiveTheSameAnswerInEverySplit) {
  for (const auto& s : samples()) {
    for (const auto& parts : test::all_splits(s.bytes)) {
      EXPECT_EQ(validate_in_pieces(parts), s.valid) << s.name << ", " << test::describe(parts);
    }
  }
}

TEST(Utf8, FailsAtTheFirstBadByteNotAtTheEnd) {
  utf8_validator v;
  EXPECT_TRUE(v.feed("abc\xE2"));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.feed("\x28"));  // not a continuation byte
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed("ok"));  // sticky
}

TEST(Utf8, IncompleteSequenceIsNotAFailure) {
  utf8_validator v;
  EXPECT_TRUE(v.feed("\xF0\x9F"));
  EXPECT_FALSE(v.failed());
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x98\x80"));
  EXPECT_TRUE(v.complete());
}

// The word-wide ASCII path must not skip a bad byte at any alignment.
TEST(Utf8, BadByteIsFoundAtEveryPositionOfALongAsciiRun) {
  for (std::size_t pos = 0; pos < 80; ++pos) {
    std::string s(80, 'x');
    s[pos] = '\xFF';
    EXPECT_FALSE(is_valid_utf8(s)) << pos;
    s[pos] = '\xC3';
    if (pos + 1 < s.size()) {
      s[pos + 1] = '\xA9';
      EXPECT_TRUE(is_valid_utf8(s)) << pos;
    }
  }
}

// Short messages end with one word read back from the end, which may reach over bytes already
// checked (a multi-byte character among them): every length and place of the character, and of
// a bad byte, against the byte-at-a-time answer.
TEST(Utf8, TheLastWordOfAShortTextAgreesWithByteAtATime) {
  auto bytewise = [](const std::string& s) {
    utf8_validator v;
    for (char c : s)
      if (!v.feed(&c, 1)) return false;
    return v.complete();
  };
  for (std::size_t n = 1; n < 24; ++n)
    for (std::size_t pos = 0; pos < n; ++pos)
      for (const char* insert : {"\xC3\xA9", "\xE2\x82\xAC", "\xFF", "\xC3", "\x80"}) {
        std::string s(n, 'a');
        s.replace(pos, std::min(std::strlen(insert), n - pos), insert);
        EXPECT_EQ(is_valid_utf8(s), bytewise(s)) << n << "/" << pos << "/" << insert;
      }
}

TEST(Utf8, EveryCodePointRoundTrips) {
  auto encode = [](char32_t c) {
    std::string out;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return out;
  };
  for (char32_t c = 0; c <= 0x10FFFF; c += (c < 0x3000 ? 1 : 97)) {
    const bool surrogate = c >= 0xD800 && c <= 0xDFFF;
    EXPECT_EQ(is_valid_utf8(encode(c)), !surrogate) << std::hex << static_cast<unsigned>(c);
  }
}

}  // namespace
}  // namespace duplex::core
