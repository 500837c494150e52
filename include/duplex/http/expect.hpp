// What a server owes a request's Expect field before it reads the body (RFC 9110 section
// 10.1.1): a 100 (Continue), a refusal, or nothing.
#pragma once

#include <cstdint>
#include <string_view>

#include "duplex/http/error.hpp"
#include "duplex/http/request.hpp"

namespace duplex::http {

enum class expect_action : std::uint8_t {
  read_body,      ///< send nothing first; read the body (if any) with body_decoder
  send_continue,  ///< write continue_response, then read the body
  refuse,         ///< answer status_for(error) and close, without reading the body
};

/// What to do about a request's Expect header, and the error when refusing.
struct expect_decision {
  /// What to do.
  expect_action action = expect_action::read_body;
  errc error{};  ///< for refuse
};

/// Decides for a request whose head is parsed and whose handler is willing to read a body of at
/// most `max_body_bytes`. Refuses an Expect field with any member other than 100-continue
/// (expectation_failed, 417, whatever the version), and a body known to be refused (the framing
/// request_body() refuses, or a Content-Length above the limit: body_too_large, 413), the same
/// answer body_decoder::start() gives, decided before anything is sent. A 100-continue is
/// answered with send_continue only in HTTP/1.1 (the RFC has HTTP/1.0 ignore it) and only when
/// a body follows: chunked, or a Content-Length within the limit and above 0.
expect_decision decide_expect(const request& req, std::uint64_t max_body_bytes) noexcept;

/// The interim response that send_continue asks for.
inline constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace duplex::http
