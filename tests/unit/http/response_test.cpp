#include "duplex/http/response.hpp"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

TEST(Response, WritesStatusHeadersAndBody) {
  std::string out;
  response_writer w(out, 404);
  EXPECT_TRUE(w.header("Content-Type", "text/plain"));
  w.content_length(3);
  w.finish("abc");
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(Response, RefusesHeaderInjection) {
  std::string out;
  response_writer w(out, 200);
  const auto before = out;
  EXPECT_FALSE(w.header("X", "a\r\nSet-Cookie: evil"));
  EXPECT_FALSE(w.header("X", "a\nb"));
  EXPECT_FALSE(w.header("Bad Name", "v"));
  EXPECT_FALSE(w.header("", "v"));
  EXPECT_EQ(out, before);
}

}  // namespace
}  // namespace duplex::http
