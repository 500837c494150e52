#include "duplex/http/request_parser.hpp"

#include <algorithm>

#include "duplex/http/grammar.hpp"

namespace duplex::http {
namespace {

// RFC 9112 section 3.2: origin-form and the other target forms use visible ASCII only.
bool is_target_char(unsigned char c) {
  return c > 0x20 && c < 0x7F;
}

}  // namespace

void request_parser::clear_start() noexcept {
  method_ = target_ = {};
  version_minor_ = 1;
  request_ = {};
}

request_parser::status request_parser::parse_start_line(std::string_view line, std::size_t offset) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(errc::bad_request_line);
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(errc::bad_request_line);
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  // RFC 9110 section 9.1: method = token.
  if (!is_token(method)) return fail(errc::bad_method);
  if (target.size() > limits_.max_target_bytes) return fail(errc::target_too_long);
  if (target.empty()) return fail(errc::bad_target);
  for (char c : target)
    if (!is_target_char(static_cast<unsigned char>(c))) return fail(errc::bad_target);
  const int minor = parse_http_version(version);
  if (minor == -1) return fail(errc::bad_version);
  if (minor == -2) return fail(errc::version_not_supported);
  // RFC 9110 section 9.3.6: CONNECT asks for a tunnel, which this server does not make; 501 is
  // the answer to a method it does not implement (section 9.1), whatever the target.
  if (method == "CONNECT") return fail(errc::method_not_implemented);
  switch (split_target(target).form) {
    case target_form::origin:
    case target_form::absolute:
      break;
    case target_form::asterisk:
      // RFC 9112 section 3.2.4: "*" names the server as a whole, for OPTIONS only.
      if (method != "OPTIONS") return fail(errc::bad_target);
      break;
    case target_form::authority:  // Section 3.2.3: for CONNECT only.
    case target_form::invalid:
      return fail(errc::bad_target);
  }
  version_minor_ = minor;
  method_ = at(method, line, offset);
  target_ = at(target, line, offset);
  return status::incomplete;
}

request_parser::status request_parser::publish(std::string_view buf) {
  request_.method = view(buf, method_);
  request_.target = view(buf, target_);
  request_.version_minor = version_minor_;
  request_.headers = headers_in(buf);
  // RFC 9112 sections 6.1 and 6.3: a head whose body cannot be delimited is refused here, before
  // any routing, so that neither a plain request nor an upgrade can be answered on a guess of
  // where the next request starts.
  const body_framing body = request_body(request_);
  if (body.kind == body_kind::invalid) {
    request_ = {};
    return fail(body.error);
  }
  return status::complete;
}

void request_reader::append(std::string_view bytes) {
  // The parser keeps offsets from the start of the head in progress, which stays the first byte
  // of the view it is given: moving that head to the front of the buffer changes nothing for it.
  // Only the head in progress moves, and a head moves at most once: until it completes, no
  // head before it is left to drop.
  if (offset_ != 0) {
    bytes_moved_ += buf_.size() - offset_;
    buf_.erase(0, offset_);
    offset_ = 0;
  }
  buf_.append(bytes);
}

void request_reader::consume() noexcept {
  if (parser_.head_size() == 0) return;
  advance(parser_.head_size());
}

void request_reader::skip(std::size_t n) noexcept {
  advance(std::min(n, buffered()));
}

void request_reader::advance(std::size_t n) noexcept {
  offset_ += n;
  // The next head starts at the new offset; a parse() begun before a skip() is abandoned.
  parser_.reset();
  if (offset_ == buf_.size()) {
    buf_.clear();  // nothing left to move
    offset_ = 0;
  }
}

}  // namespace duplex::http
