#include "duplex/http/body_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "duplex/http/grammar.hpp"
#include "field_line.hpp"

namespace duplex::http {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t';
}

bool is_token_char(char c) noexcept {
  return is_tchar(static_cast<unsigned char>(c));
}

// RFC 9110 section 5.6.4: qdtext, and what may follow a backslash in a quoted-pair.
bool is_qdtext(unsigned char c) noexcept {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}
bool is_quoted_pair_char(unsigned char c) noexcept {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

// A chunk size has at most 16 hex digits: 64 bits. Leading zeros count, so that a size line
// costs a bounded number of bytes whatever a peer sends.
constexpr unsigned max_size_digits = 16;

}  // namespace

body_decoder::status body_decoder::start(const request& req, std::uint64_t max_body_bytes) {
  return start(request_body(req), max_body_bytes);
}

body_decoder::status body_decoder::start(const body_framing& framing,
                                         std::uint64_t max_body_bytes) {
  kind_ = framing.kind;
  max_body_ = max_body_bytes;
  received_ = left_ = chunk_size_ = 0;
  size_digits_ = 0;
  ext_bytes_ = 0;
  trailer_buf_.clear();
  line_start_ = 0;
  trailer_at_.clear();
  error_.clear();
  switch (framing.kind) {
    case body_kind::none:
      phase_ = phase::done;
      break;
    case body_kind::length:
      // Known before a byte of the body is read: refuse now, so a client that sent
      // "Expect: 100-continue" never sends it.
      if (framing.length > max_body_bytes) return fail(errc::body_too_large, 0).state;
      left_ = framing.length;
      phase_ = left_ == 0 ? phase::done : phase::length_data;
      break;
    case body_kind::chunked:
      phase_ = phase::chunk_size;
      break;
    case body_kind::invalid:
      return fail(framing.error, 0).state;
  }
  return state();
}

body_decoder::status body_decoder::state() const noexcept {
  switch (phase_) {
    case phase::done:
      return status::complete;
    case phase::failed:
      return status::error;
    default:
      return status::incomplete;
  }
}

body_decoder::step body_decoder::fail(errc e, std::size_t consumed) {
  phase_ = phase::failed;
  error_ = e;
  return {status::error, consumed, {}};
}

std::vector<header> body_decoder::trailers() const {
  std::vector<header> out;
  if (phase_ != phase::done) return out;
  const std::string_view fields = trailer_buf_;
  out.reserve(trailer_at_.size());
  for (const auto& f : trailer_at_)
    out.push_back({fields.substr(f.name_begin, f.name_end - f.name_begin),
                   fields.substr(f.value_begin, f.value_end - f.value_begin)});
  return out;
}

body_decoder::status body_decoder::finish() {
  if (phase_ == phase::done || phase_ == phase::failed) return state();
  return fail(errc::body_truncated, 0).state;
}

body_decoder::step body_decoder::decode(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && phase_ != phase::done && phase_ != phase::failed) {
    if (phase_ == phase::length_data || phase_ == phase::chunk_data) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, in.size() - i));
      const std::string_view data = in.substr(i, n);
      i += n;
      left_ -= n;
      received_ += n;
      if (left_ == 0) phase_ = phase_ == phase::length_data ? phase::done : phase::data_cr;
      return {state(), i, data};
    }
    errc e{};
    if (phase_ == phase::trailer) {
      i += trailer_bytes(in.substr(i), e);
    } else {
      e = framing_byte(in[i]);
      ++i;
    }
    if (e != errc{}) return fail(e, i);
  }
  return {state(), i, {}};
}

// One byte of chunked framing outside the data and the trailers.
errc body_decoder::framing_byte(char c) {
  switch (phase_) {
    case phase::chunk_size:
      return chunk_size_byte(c);
    case phase::chunk_ext:
      return chunk_ext_byte(c);
    case phase::chunk_line_lf:
      // RFC 9112 section 2.2, as in the head: a CR not followed by LF ends no line.
      return c == '\n' ? end_of_chunk_line() : errc::bad_line_ending;
    case phase::data_cr:
      // Section 7.1: chunk-data CRLF. A bare LF is refused as in the head; anything else
      // means the data was longer than its size said.
      if (c == '\r') {
        phase_ = phase::data_lf;
        return errc{};
      }
      return c == '\n' ? errc::bad_line_ending : errc::bad_chunk_end;
    case phase::data_lf:
      if (c != '\n') return errc::bad_line_ending;
      phase_ = phase::chunk_size;
      return errc{};
    default:
      return errc::bad_chunk_size;  // not reached: decode() handles the other phases
  }
}

errc body_decoder::chunk_size_byte(char c) {
  const int v = hex_value(c);
  if (v >= 0) {
    if (size_digits_ == max_size_digits) return errc::chunk_size_overflow;
    ++size_digits_;
    chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(v);
    // More digits only make the size larger: past the limit is known here, before its data.
    if (chunk_size_ > max_body_ - received_) return errc::body_too_large;
    return errc{};
  }
  if (c == '\n') return errc::bad_line_ending;
  if (size_digits_ == 0) return errc::bad_chunk_size;
  phase_ = phase::chunk_ext;
  ext_ = ext::after_element;
  ext_space_ = false;
  ext_bytes_ = 0;
  return chunk_ext_byte(c);
}

// RFC 9112 section 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
// chunk-ext-val ] ), the name a token, the value a token or a quoted-string. Whitespace is
// accepted only where BWS stands, so "5 \r\n" is refused: two parsers can disagree on it.
errc body_decoder::chunk_ext_byte(char c) {
  if (c == '\n') return errc::bad_line_ending;
  if (c != '\r' && ++ext_bytes_ > limits_.max_chunk_ext_bytes)
    return errc::chunk_extension_too_long;
  const auto u = static_cast<unsigned char>(c);
  switch (ext_) {
    case ext::quoted:
      if (c == '"') {
        ext_ = ext::after_element;
        ext_space_ = false;
      } else if (c == '\\') {
        ext_ = ext::quoted_pair;
      } else if (!is_qdtext(u)) {
        return errc::bad_chunk_extension;
      }
      return errc{};
    case ext::quoted_pair:
      if (!is_quoted_pair_char(u)) return errc::bad_chunk_extension;
      ext_ = ext::quoted;
      return errc{};
    case ext::before_name:
      if (is_ws(c)) return errc{};
      if (!is_token_char(c)) return errc::bad_chunk_extension;
      ext_ = ext::name;
      return errc{};
    case ext::before_value:
      if (is_ws(c)) return errc{};
      if (c == '"') {
        ext_ = ext::quoted;
      } else if (is_token_char(c)) {
        ext_ = ext::token_value;
      } else {
        return errc::bad_chunk_extension;
      }
      return errc{};
    case ext::name:
    case ext::token_value:
      if (is_token_char(c)) return errc{};
      if (ext_ == ext::name && c == '=') {
        ext_ = ext::before_value;
        return errc{};
      }
      ext_space_ = false;
      ext_ = ext_ == ext::name ? ext::after_name : ext::after_element;
      break;
    case ext::after_name:
    case ext::after_element:
      break;
  }
  // After a size, a name or a value: whitespace, then ';', '=' (after a name only) or the CR.
  if (is_ws(c)) {
    ext_space_ = true;
    return errc{};
  }
  if (c == ';') {
    ext_ = ext::before_name;
    return errc{};
  }
  if (c == '=' && ext_ == ext::after_name) {
    ext_ = ext::before_value;
    return errc{};
  }
  if (c == '\r' && !ext_space_) {
    phase_ = phase::chunk_line_lf;
    return errc{};
  }
  return errc::bad_chunk_extension;
}

errc body_decoder::end_of_chunk_line() {
  if (chunk_size_ == 0) {
    phase_ = phase::trailer;  // section 7.1: the last chunk, then the trailer section
  } else {
    phase_ = phase::chunk_data;
    left_ = chunk_size_;
  }
  chunk_size_ = 0;
  size_digits_ = 0;
  return errc{};
}

// Section 7.1.2: trailer-section = *( field-line CRLF ), then CRLF. A line is gathered in
// trailer_buf_ (it may arrive in pieces) and checked once its LF is there.
std::size_t body_decoder::trailer_bytes(std::string_view in, errc& e) {
  const void* nl = std::memchr(in.data(), '\n', in.size());
  const std::size_t take =
      nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) + 1 : in.size();
  // The 2 are the blank line that ends the section, which the limit does not count.
  const std::size_t after = trailer_buf_.size() + take;
  if (after > 2 && after - 2 > limits_.max_trailer_bytes) {
    e = errc::trailer_too_large;
    return take;
  }
  trailer_buf_.append(in.data(), take);
  if (nl) e = end_of_trailer_line();
  return take;
}

errc body_decoder::end_of_trailer_line() {
  const std::string_view all = trailer_buf_;
  const std::size_t lf = all.size() - 1;
  // Section 2.2, as in the head: CRLF only, no bare CR inside the line.
  if (lf == line_start_ || all[lf - 1] != '\r') return errc::bad_line_ending;
  const std::string_view line = all.substr(line_start_, lf - 1 - line_start_);
  if (line.find('\r') != std::string_view::npos) return errc::bad_line_ending;
  if (line.empty()) {
    phase_ = phase::done;
    return errc{};
  }
  if (trailer_buf_.size() > limits_.max_trailer_bytes) return errc::trailer_too_large;
  detail::field_line f;
  if (const errc e = detail::split_field_line(line, f); e != errc{}) return e;
  const std::size_t at = line_start_;
  trailer_at_.push_back({at, at + f.name_end, at + f.value_begin, at + f.value_end});
  line_start_ = trailer_buf_.size();
  return errc{};
}

}  // namespace duplex::http
