#include "duplex/http/response.hpp"

#include <charconv>

#include "duplex/http/grammar.hpp"

namespace duplex::http {

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return {};  // RFC 9112 section 4: the reason phrase may be empty; no made-up one
  }
}

response_writer::response_writer(std::string& out, int status) : out_(out) {
  char num[8];
  auto [end, ec] = std::to_chars(num, num + sizeof num, status);
  (void)ec;
  out_ += "HTTP/1.1 ";
  out_.append(num, end);
  out_ += ' ';
  out_ += reason_phrase(status);
  out_ += "\r\n";
}

bool append_field(std::string& out, std::string_view name, std::string_view value) {
  if (!is_token(name)) return false;
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
  return true;
}

bool response_writer::header(std::string_view name, std::string_view value) {
  return append_field(out_, name, value);
}

void response_writer::content_length(std::size_t n) {
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, n);
  (void)ec;
  header("Content-Length", std::string_view(num, static_cast<std::size_t>(end - num)));
}

void response_writer::finish(std::string_view body) {
  out_ += "\r\n";
  out_ += body;
}

}  // namespace duplex::http
