// Feeds a body_decoder the way a connection does, for the body tests: pieces appended to a
// buffer that moves before every call, consumed bytes dropped, pieces checked to be views.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "duplex/http/body_decoder.hpp"
#include "support/splits.hpp"

namespace duplex::http::test_support {

struct body_outcome {
  body_decoder::status status = body_decoder::status::incomplete;
  std::error_code error;
  std::string body;
  std::size_t consumed = 0;  // of all the bytes given
  std::size_t pieces = 0;    // non-empty data pieces
  std::vector<std::pair<std::string, std::string>> trailers;
};

inline bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Decodes what `parts` bring after start(), until the body ends or fails or the parts run out.
inline body_outcome decode_in_pieces(body_decoder& d, const test::pieces& parts) {
  body_outcome o;
  o.status = d.state();
  std::string pending;
  for (const auto& part : parts) {
    if (o.status != body_decoder::status::incomplete) break;
    pending += part;
    const std::string moved = pending;  // a new place each time, as after a reallocation
    std::string_view in = moved;
    while (!in.empty()) {
      const auto s = d.decode(in);
      EXPECT_TRUE(inside(s.data, in)) << "a piece that is not a view into the input";
      EXPECT_LE(s.consumed, in.size());
      // Input left and nothing done would loop forever in a caller.
      EXPECT_TRUE(s.consumed > 0 || s.state != body_decoder::status::incomplete);
      o.body.append(s.data);
      o.pieces += s.data.empty() ? 0 : 1;
      o.consumed += s.consumed;
      in.remove_prefix(s.consumed);
      o.status = s.state;
      if (s.state != body_decoder::status::incomplete || s.consumed == 0) break;
    }
    pending = std::string(in);
  }
  o.error = d.error();
  EXPECT_EQ(o.body.size(), d.received());
  for (const auto& t : d.trailers())
    o.trailers.emplace_back(t.name, t.value);
  return o;
}

inline body_framing chunked() {
  return {body_kind::chunked};
}
inline body_framing length(std::uint64_t n) {
  return {body_kind::length, n};
}

}  // namespace duplex::http::test_support
