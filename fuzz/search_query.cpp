// What a user types into search, as the FTS5 query the index receives: whatever the bytes, the
// query is plain quoted words (an optional prefix star at the end), and SQLite's FTS5 runs it
// without a syntax error; snippets split into pieces that lose nothing but their marks.
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/search.hpp"

namespace {

// Outside quotes only single spaces between words and one final star; inside, quotes doubled.
bool plain_words(std::string_view q) {
  std::size_t i = 0;
  while (i < q.size()) {
    if (q[i] != '"') return false;
    ++i;
    while (true) {
      if (i >= q.size()) return false;
      if (q[i] == '"') {
        if (i + 1 < q.size() && q[i + 1] == '"') {
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      ++i;
    }
    if (i == q.size()) return true;
    if (q[i] == '*') return i + 1 == q.size();
    if (q[i] != ' ') return false;
    ++i;
  }
  return false;  // empty, or a trailing space
}

sqlite3* index_db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    sqlite3_open(":memory:", &d);
    sqlite3_exec(
        d,
        "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');"
        "INSERT INTO t (text) VALUES ('hello world'), ('NEAR the text: a OR b -c (d)'),"
        " ('café \"quoted\" e*f');",
        nullptr, nullptr, nullptr);
    return d;
  }();
  return db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view typed(reinterpret_cast<const char*>(data), size);
  const std::string q = duplex::chat::fts_query(typed, 16);
  if (!q.empty()) {
    FUZZ_CHECK(plain_words(q));
    sqlite3_stmt* st = nullptr;
    FUZZ_CHECK(sqlite3_prepare_v2(index_db(), "SELECT rowid FROM t WHERE t MATCH ?", -1, &st,
                                  nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, q.data(), static_cast<int>(q.size()), SQLITE_TRANSIENT);
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW)
      rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) std::fprintf(stderr, "%s: %s\n", q.c_str(), sqlite3_errmsg(index_db()));
    FUZZ_CHECK(rc == SQLITE_DONE);
    sqlite3_finalize(st);
  } else {
    for (const char ch : typed)  // nothing but separators
      FUZZ_CHECK(static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7F);
  }
  std::string joined;
  for (const auto& piece : duplex::chat::split_snippet(typed)) {
    FUZZ_CHECK(!piece.text.empty());
    joined += piece.text;
  }
  std::string expected;
  for (const char ch : typed)
    if (ch != '\x01' && ch != '\x02') expected += ch;
  FUZZ_CHECK(joined == expected);
  return 0;
}
