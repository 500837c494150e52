#include "duplex/http/expect.hpp"

#include "duplex/http/token_list.hpp"

namespace duplex::http {

expect_decision decide_expect(const request& req, std::uint64_t max_body_bytes) noexcept {
  // RFC 9110 section 10.1.1: Expect = #expectation, compared without regard to case. 100-continue
  // takes no value or parameters, so any member that is not exactly it is unknown; a quoted
  // string holding a comma splits into members that are unknown too.
  bool wants_continue = false;
  bool unknown = false;
  for (const auto& h : req.headers) {
    if (!iequals(h.name, "Expect")) continue;
    for_each_token(h.value, [&](std::string_view member) {
      if (iequals(member, "100-continue")) {
        wants_continue = true;
      } else {
        unknown = true;
      }
      return !unknown;
    });
  }
  if (unknown) return {expect_action::refuse, errc::expectation_failed};
  const body_framing body = request_body(req);
  if (body.kind == body_kind::invalid) return {expect_action::refuse, body.error};
  if (body.kind == body_kind::length && body.length > max_body_bytes)
    return {expect_action::refuse, errc::body_too_large};
  if (wants_continue && req.version_minor >= 1 && !body.empty())
    return {expect_action::send_continue};
  return {};
}

}  // namespace duplex::http
