#include "file_names.hpp"

#include <cstdint>
#include <string>

namespace duplex::chat {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A malformed escape is kept as it was typed: it is text, just not an escape.
std::string percent_decoded(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// The length of the UTF-8 sequence at `i` and its code point, or 0 when it is not one
// (overlong, a surrogate, past U+10FFFF, truncated).
std::size_t utf8_at(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  std::size_t n = 0;
  if (c < 0x80) return cp = c, 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool hidden(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0xfeff ||
         (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x2069);
}

std::string trimmed(std::string s) {
  const auto edge = [](char c) { return c == ' ' || c == '.'; };
  std::size_t from = 0;
  while (from < s.size() && edge(s[from]))
    ++from;
  std::size_t to = s.size();
  while (to > from && edge(s[to - 1]))
    --to;
  return s.substr(from, to - from);
}

}  // namespace

std::string sanitize_file_name(std::string_view sent) {
  // Enough for the longest name kept, each of its bytes escaped, plus what is dropped.
  const std::string raw = percent_decoded(sent.substr(0, 12 * max_file_name_bytes));
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8_at(raw, i, cp);
    if (n == 0) {
      ++i;
      continue;
    }
    const bool separator = cp == '/' || cp == '\\';
    if (separator || !hidden(cp)) {
      if (out.size() + (separator ? 1 : n) > max_file_name_bytes) break;
      if (separator)
        out += '_';
      else
        out.append(raw, i, n);
    }
    i += n;
  }
  out = trimmed(std::move(out));
  return out.empty() ? "file" : out;
}

std::string rfc8187_encode(std::string_view utf8) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : utf8) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

}  // namespace duplex::chat
