#include "src/names.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace duplex::chat::names {
namespace {

using namespace std::string_literals;

std::string u(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

using profile_fn = checked (*)(std::string_view, const limits&);

struct accepted_case {
  const char* input;
  const char* display;
  const char* key;
};

struct refused_case {
  std::string input;
  reason why;
  char32_t offender;  // 0: none expected
};

void expect_accepted(profile_fn f, const std::vector<accepted_case>& cases) {
  for (const auto& c : cases) {
    const checked r = f(c.input, {});
    EXPECT_EQ(r.why, reason::ok) << c.input << ": " << code(r.why) << " " << u(r.offender);
    EXPECT_EQ(r.display, c.display) << c.input;
    EXPECT_EQ(r.key, c.key) << c.input;
    EXPECT_FALSE(r.skeleton.empty()) << c.input;
  }
}

void expect_refused(profile_fn f, const std::vector<refused_case>& cases) {
  for (const auto& c : cases) {
    const checked r = f(c.input, {});
    EXPECT_EQ(code(r.why), code(c.why)) << c.input;
    if (c.offender != 0) {
      EXPECT_EQ(u(r.offender), u(c.offender)) << c.input;
    }
    EXPECT_TRUE(r.display.empty() && r.key.empty() && r.skeleton.empty()) << c.input;
  }
}

// Names of each group must come out as one name: the same key.
void expect_same_key(profile_fn f, const std::vector<std::vector<std::string>>& groups) {
  for (const auto& g : groups) {
    const checked first = f(g.front(), {});
    ASSERT_TRUE(first) << g.front() << ": " << code(first.why);
    for (const auto& name : g) {
      const checked r = f(name, {});
      ASSERT_TRUE(r) << name << ": " << code(r.why) << " " << u(r.offender);
      EXPECT_EQ(r.key, first.key) << name << " vs " << g.front();
    }
  }
}

TEST(Names, IcuIsReady) {
  EXPECT_TRUE(ready());
}

TEST(Names, UsernamesAccepted) {
  expect_accepted(
      username, {{"alice", "alice", "alice"},
                 {"Alice", "Alice", "alice"},
                 {"JOSÉ", "JOSÉ", "josé"},
                 {"Jose\u0301", "José", "josé"},  // composed by NFC
                 {"ÄNNE", "ÄNNE", "änne"},
                 {"\u212Arl", "Krl", "krl"},        // the Kelvin sign is K under NFC
                 {"ＡＬＩＣＥ", "ALICE", "alice"},  // fullwidth: width mapping
                 {"straße", "straße", "strasse"},   // full folding, not lower-casing
                 {"Σίσυφος", "Σίσυφος", "σίσυφοσ"},
                 {"user.name_1-2", "user.name_1-2", "user.name_1-2"},
                 {"李小龙", "李小龙", "李小龙"},
                 {"山田たろう", "山田たろう", "山田たろう"},  // Han + Hiragana: highly restrictive
                 {"alice李", "alice李", "alice李"},
                 {"علي", "علي", "علي"},
                 {"דוד2", "דוד2", "דוד2"},      // right-to-left ending in a digit
                 {"\u1100\u1161", "가", "가"},  // conjoining jamo compose under NFC
                 {"col\u00B7lecci\u00F3", "col·lecció", "col·lecció"}});  // l·l
}

TEST(Names, UsernamesRefused) {
  expect_refused(
      username, {{"", reason::empty, 0},
                 {"alice bob", reason::space, U' '},
                 {"alice\u00A0", reason::space, 0xA0},
                 {"al\u200Bice", reason::format, 0x200B},
                 {"a\u200Db", reason::format, 0x200D},
                 {"\uFEFFalice", reason::format, 0xFEFF},
                 {"bob\u202Egnp", reason::format, 0x202E},
                 {"\u3164", reason::invisible, 0x3164},
                 {"\u115F", reason::invisible, 0x115F},
                 {"\u1160", reason::invisible, 0x1160},
                 {"\uFFA0", reason::invisible, 0xFFA0},
                 {"alice\u0007", reason::control, 7},
                 {"a\0b"s, reason::control, 0},
                 {"a\u2028b", reason::control, 0x2028},
                 {"\uE000", reason::private_use, 0xE000},
                 {"a\u0378", reason::unassigned, 0x378},
                 {"\uFDD0", reason::unassigned, 0xFDD0},
                 {"alice!", reason::symbol, U'!'},
                 {"<b>", reason::symbol, U'<'},
                 {"a\u2019b", reason::symbol, 0x2019},
                 {"\uFB01le", reason::compatibility, 0xFB01},
                 {"x\u00B2", reason::compatibility, 0xB2},
                 {"\u16EE", reason::disallowed, 0x16EE},             // a letter-like number (Nl)
                 {"a\u20DD", reason::disallowed, 0x20DD},            // an enclosing mark
                 {"\u1100", reason::disallowed, 0x1100},             // a lone conjoining jamo
                 {"\u0628\u0640\u0628", reason::disallowed, 0x640},  // tatweel
                 {"\u0301abc", reason::context, 0x301},
                 {"a\u00B7b", reason::context, 0xB7},
                 {"\u0663\u06F3", reason::context, 0x663},
                 {"\u0410lice", reason::mixed_script, 0},  // Cyrillic А + Latin
                 {"p\u0430yp\u0430l", reason::mixed_script, 0},
                 {"ali\u0639", reason::bidi, U'a'},  // right-to-left letter in a left-to-right name
                 {"\u0639\u0644\u064Ax", reason::bidi, U'x'},
                 {"1\u0662", reason::bidi, U'1'},
                 {"\u0967"
                  "1",
                  reason::mixed_numbers, 0},  // Devanagari and ASCII digits
                 {"e\u0301\u0301", reason::stacked_marks, 0},
                 {"\u0131\u0307", reason::stacked_marks, 0},  // dotless i + dot: looks like i
                 {std::string(33, 'a'), reason::too_long, 0},
                 {std::string(513, 'a'), reason::too_long, 0},
                 {"\xC0\x80", reason::invalid_utf8, 0},          // overlong NUL
                 {"\xED\xA0\x80", reason::invalid_utf8, 0},      // an encoded surrogate
                 {"\xF4\x90\x80\x80", reason::invalid_utf8, 0},  // above U+10FFFF
                 {"ab\xE2\x82", reason::invalid_utf8, 0}});      // truncated
}

TEST(Names, NicknamesAccepted) {
  expect_accepted(nickname,
                  {{"Alice", "Alice", "alice"},
                   {"  Alice   Smith  ", "Alice Smith", "alice smith"},
                   {"Alice\u00A0", "Alice", "alice"},
                   {"Alice\u3000Smith", "Alice Smith", "alice smith"},
                   {"Jose\u0301", "José", "josé"},
                   {"\u212Arl", "Krl", "krl"},
                   {"\uFB01le", "file", "file"},  // NFKC undoes the ligature
                   {"ＢＯＢ", "BOB", "bob"},
                   {"x\u00B2", "x2", "x2"},
                   {"Ali \u0639\u0644\u064A", "Ali علي", "ali علي"},  // Latin + Arabic: moderate
                   {"alice 李", "alice 李", "alice 李"},
                   {"Émile <b>ok</b>!", "Émile <b>ok</b>!", "émile <b>ok</b>!"},
                   {"a\u00A8", "a \u0308", "a \u0308"},  // NFKC makes a space: settled once
                   {"\u263A smile", "☺ smile", "☺ smile"}});
}

TEST(Names, NicknamesRefused) {
  expect_refused(nickname, {{"", reason::empty, 0},
                            {"   ", reason::empty, 0},
                            {"\u00A0\u2003", reason::empty, 0},
                            {"\u3164", reason::invisible, 0x3164},
                            {" \u3164 ", reason::invisible, 0x3164},
                            {"\uFFA0", reason::invisible, 0xFFA0},
                            {"\u2764\uFE0F", reason::invisible, 0xFE0F},  // a variation selector
                            {"\u2800", reason::invisible, 0x2800},        // blank Braille pattern
                            {"x\u2800y", reason::invisible, 0x2800},
                            {"\U0001D159", reason::invisible, 0x1D159},  // null notehead
                            {"\U00016FE4", reason::invisible, 0x16FE4},  // Khitan filler
                            {"a\uFFFC", reason::invisible, 0xFFFC},
                            {"alice\uFFFD", reason::disallowed, 0xFFFD},
                            {"Al\u200Bice", reason::format, 0x200B},
                            {"x\u200Dy", reason::format, 0x200D},
                            {"tab\there", reason::control, U'\t'},
                            {"line\nbreak", reason::control, U'\n'},
                            {"\U000F0000", reason::private_use, 0xF0000},
                            {"\u0410lice", reason::mixed_script, 0},
                            {"\u0301x", reason::context, 0x301},
                            {std::string(33, 'a'), reason::too_long, 0},
                            {"\xFF", reason::invalid_utf8, 0}});
}

TEST(Names, TheIssuesLookAlikesAreOneName) {
  const std::vector<std::vector<std::string>> groups{{"JOSÉ", "José", "Jose\u0301", "jose\u0301"},
                                                     {"ÄNNE", "änne", "A\u0308nne"},
                                                     {"\u212Arl", "krl", "KRL"},
                                                     {"straße", "STRASSE", "strasse"},
                                                     {"ＡＬＩＣＥ", "alice", "ALICE"},
                                                     // small capitals: U+0274, U+1D00, U+0299
                                                     {"Ann", "A\u0274n", "\u1D00\u0274\u0274"},
                                                     {"Bob", "\u0299ob", "bo\u0299"}};
  expect_same_key(username, groups);
  expect_same_key(nickname, groups);
  expect_same_key(nickname, {{"alice", "alice\u00A0", "\u2003Alice ", "ALICE"}});
  // A modifier small capital is a compatibility form of the small capital (refused in sign-in
  // names), and a Greek small capital is the Greek small letter.
  expect_same_key(nickname,
                  {{"Ann", "A\u1DB0n"}, {"\u03b3\u03ac\u03bc\u03b1", "\u1D26\u03ac\u03bc\u03b1"}});
}

TEST(Names, LookAlikesShareASkeleton) {
  // Names with different keys that look the same: the caller refuses a taken skeleton.
  const std::vector<std::vector<std::string>> groups{
      {"modern", "rnodern"},       // TR #39 lists m as rn
      {"modern", "\u0280nodern"},  // and a small capital R as its small letter
      {"Bill", "BiII", "bill"},    // capital I is l; a dotted i is not
      {"BIll", "B1ll", "Blll", "B|ll"},
      {"bob", "b0b", "BOB", "B0B"},
      {"ABC", "\u0410\u0412\u0421"},                // Latin and Cyrillic capitals
      {"paypa", "\u0440\u0430\u0443\u0440\u0430"},  // Latin and Cyrillic lower case
      {"ALICE", "ALlCE", "AL1CE", "alice"}};
  for (const auto& g : groups) {
    const checked first = nickname(g.front(), {});
    ASSERT_TRUE(first) << g.front();
    for (const auto& name : g) {
      const checked r = nickname(name, {});
      ASSERT_TRUE(r) << name << ": " << code(r.why);
      EXPECT_EQ(r.skeleton, first.skeleton) << name << " vs " << g.front();
      EXPECT_EQ(skeleton(r.display), r.skeleton) << name;
    }
  }
  // A mixed-script look-alike is refused, and would share the skeleton anyway.
  EXPECT_EQ(skeleton("\u0430lice"), skeleton("alice"));
  EXPECT_NE(skeleton("alice"), skeleton("alicia"));
}

TEST(Names, EveryCaseFormOfANameSharesItsSkeleton) {
  // A name is one person in every case, so what looks like `ALICE` impersonates `alice`: `ALlCE`
  // (small L) and `AL1CE` once registered beside `alice` read as her name in capitals.
  const std::vector<std::vector<std::string>> groups{
      {"alice", "ALICE", "Alice", "ALlCE", "AL1CE", "AIice", "a1ice"},
      {"bill", "BILL", "BiII", "B1LL"},
      {"bob", "BOB", "B0B", "b0b"}};
  for (const auto& g : groups) {
    const checked first = nickname(g.front(), {});
    ASSERT_TRUE(first) << g.front();
    for (const auto& name : g) {
      const checked r = nickname(name, {});
      ASSERT_TRUE(r) << name << ": " << code(r.why);
      EXPECT_EQ(r.skeleton, first.skeleton) << name << " vs " << g.front();
    }
  }
  // All-Cyrillic `Ьоь` (soft signs around an o) reads as `bob`.
  EXPECT_EQ(skeleton("\u042C\u043E\u044C"), skeleton("bob"));
  EXPECT_EQ(skeleton("\u044C\u043E\u044C"), skeleton("bob"));
  // Names that differ by a letter seen in both cases stay apart.
  EXPECT_NE(skeleton("alice"), skeleton("alise"));
  EXPECT_NE(skeleton("ann"), skeleton("anna"));
}

TEST(Names, DottedCapitalIFoldsToAKeyThatIsNotAName) {
  // Full folding turns U+0130 into i + U+0307; as typed, that pair is refused (TR #39's
  // hidden-overlay check: a dot over a dotted letter), so nobody can claim the key directly.
  const checked r = username("\u0130stanbul", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r.key, "i\u0307stanbul");
  EXPECT_EQ(username(r.key, {}).why, reason::stacked_marks);
  EXPECT_NE(r.key, username("istanbul", {}).key);
}

TEST(Names, LimitsCountCodePointsAndBytesOfTheCanonicalForm) {
  EXPECT_TRUE(username(std::string(32, 'a'), {}));
  EXPECT_TRUE(nickname(" " + std::string(32, 'a') + " ", {}));  // trimmed before counting
  std::string wide;
  for (int i = 0; i < 9; ++i)
    wide += "é";  // 9 code points, 18 bytes
  EXPECT_TRUE(username(wide, {32, 18}));
  EXPECT_EQ(username(wide, {32, 17}).why, reason::too_long);
  EXPECT_EQ(username(wide, {8, 128}).why, reason::too_long);
  // Decomposed input composes before counting: e + U+0301 is one code point.
  std::string decomposed;
  for (int i = 0; i < 8; ++i)
    decomposed += "e\u0301";
  EXPECT_TRUE(username(decomposed, {8, 128}));
}

TEST(Names, CanonicalFormsAreFixedPoints) {
  for (const char* s :
       {"Jose\u0301", "ＡＬＩＣＥ", "straße", "  a\u00A8  b ", "\uFB01le", "\u212Arl"}) {
    for (profile_fn f : {profile_fn{username}, profile_fn{nickname}}) {
      const checked once = f(s, {});
      if (!once) continue;
      const checked twice = f(once.display, {});
      EXPECT_EQ(twice.display, once.display) << s;
      EXPECT_EQ(twice.key, once.key) << s;
      EXPECT_EQ(twice.skeleton, once.skeleton) << s;
    }
  }
}

TEST(Names, EveryReasonHasACodeAndASentence) {
  std::vector<std::string_view> codes;
  for (int i = 0; i <= static_cast<int>(reason::internal); ++i) {
    const auto why = static_cast<reason>(i);
    EXPECT_FALSE(message(why).empty());
    for (auto c : codes)
      EXPECT_NE(c, code(why));
    codes.push_back(code(why));
  }
  EXPECT_EQ(code(reason::format), "name_format");
}

TEST(Names, ConcurrentChecksAgreeWithOneThread) {
  const std::vector<std::string> inputs{"alice",         "Jose\u0301", "\u0410lice",
                                        "\u3164",        "BiII",       "Ali \u0639\u0644\u064A",
                                        "e\u0301\u0301", "\u212Arl"};
  std::vector<checked> expected;
  for (const auto& s : inputs)
    expected.push_back(nickname(s, {}));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round)
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          const checked r = nickname(inputs[i], {});
          if (r.why != expected[i].why || r.key != expected[i].key ||
              r.skeleton != expected[i].skeleton)
            ++mismatches[t];
        }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace duplex::chat::names

namespace duplex::chat::names {
namespace {

// What the hub asks: the display form, a key shared by names that are the same, a look-alike
// key shared by names that look the same, and room names.
TEST(NamesForTheHub, ValidateKeyAndLookAlikeFollowTheNicknameProfile) {
  const auto ok = validate("  José  ");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.name, "José");
  EXPECT_EQ(ok.key, key("José"));
  EXPECT_EQ(ok.skeleton, look_alike_key("José"));
  EXPECT_EQ(key("JOSÉ"), key("Jose\u0301"));
  EXPECT_EQ(look_alike_key("modern"), look_alike_key("rnodern"));
  EXPECT_NE(key("modern"), key("rnodern"));
  const auto blank = validate("\u3164");
  EXPECT_FALSE(blank);
  EXPECT_EQ(blank.code, "name_invisible");
  EXPECT_FALSE(blank.reason.empty());
  EXPECT_EQ(key("\u3164"), "");  // a refused name designates nobody
  EXPECT_EQ(look_alike_key("\u200B"), "");
}

TEST(NamesForTheHub, RoomsAreShortAsciiNamesFoldedToLowerCase) {
  for (const char* ok : {"lobby", "a-b_c", "R0", "x1234567890123456789012345678901"})
    EXPECT_TRUE(valid_room(ok)) << ok;
  for (const char* bad :
       {"", "has space", "semi;colon", "../etc", "\xC3\xA9", "x123456789012345678901234567890123"})
    EXPECT_FALSE(valid_room(bad)) << bad;
  EXPECT_EQ(room_key("Lobby"), "lobby");
}

}  // namespace
}  // namespace duplex::chat::names
