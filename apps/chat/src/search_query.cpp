// What a user typed, as an FTS5 query of plain words, and FTS5's marked snippets as pieces.
#include "search.hpp"

namespace duplex::chat {
namespace {

// Spaces and every ASCII control separate words: a NUL or an escape is never part of a query.
bool separates(char ch) noexcept {
  const auto b = static_cast<unsigned char>(ch);
  return b <= 0x20 || b == 0x7F;
}

void quote(std::string& out, std::string_view word) {
  out += '"';
  for (const char ch : word) {
    if (ch == '"') out += '"';  // FTS5 strings double their quotes, as SQL's do
    out += ch;
  }
  out += '"';
}

}  // namespace

namespace {

// Calls `word` for each word of `typed` (at most max_terms), with whether it ends the input.
template <class Word>
void each_word(std::string_view typed, std::size_t max_terms, Word&& word) {
  std::size_t terms = 0;
  std::size_t i = 0;
  while (i < typed.size() && terms < max_terms) {
    while (i < typed.size() && separates(typed[i]))
      ++i;
    const std::size_t start = i;
    while (i < typed.size() && !separates(typed[i]))
      ++i;
    if (i == start) break;
    word(typed.substr(start, i - start), i == typed.size());
    ++terms;
  }
}

}  // namespace

std::string search_words(std::string_view typed, std::size_t max_terms) {
  std::string out;
  each_word(typed, max_terms, [&](std::string_view w, bool) {
    if (!out.empty()) out += ' ';
    out += w;
  });
  return out;
}

std::string fts_query(std::string_view typed, std::size_t max_terms) {
  std::string out;
  bool last_open = false;  // the last word ran to the end of the input: still being typed
  each_word(typed, max_terms, [&](std::string_view w, bool at_end) {
    if (!out.empty()) out += ' ';
    quote(out, w);
    last_open = at_end;
  });
  if (last_open) out += '*';
  return out;
}

std::vector<search_segment> split_snippet(std::string_view marked, char open, char close) {
  std::vector<search_segment> out;
  bool hit = false;
  std::string piece;
  auto flush = [&] {
    if (!piece.empty()) out.push_back({std::move(piece), hit});
    piece.clear();
  };
  for (const char ch : marked) {
    if (ch == open || ch == close) {
      flush();
      hit = ch == open;
      continue;
    }
    piece += ch;
  }
  flush();
  return out;
}

}  // namespace duplex::chat
