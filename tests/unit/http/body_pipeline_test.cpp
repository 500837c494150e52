// Bodies between pipelined heads, read from one request_reader as a connection would.
#include <gtest/gtest.h>

#include "body_test_support.hpp"
#include "duplex/http/body_decoder.hpp"
#include "duplex/http/request_parser.hpp"
#include "support/splits.hpp"

namespace duplex::http {
namespace {

struct exchange {
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;
};

struct pipeline_result {
  std::vector<exchange> seen;
  std::error_code error;
  std::size_t buffered = 0, scanned = 0, moved = 0;
};

// Appends each read, then alternates: a head, its body, the next head; as the glue will.
pipeline_result read_pipelined(const test::pieces& reads, std::uint64_t max_body = 1024) {
  request_reader reader;
  body_decoder body;
  bool in_body = false;
  pipeline_result out;
  for (const auto& read : reads) {
    reader.append(read);
    while (true) {
      if (in_body) {
        const auto s = body.decode(reader.unread());
        EXPECT_TRUE(test_support::inside(s.data, reader.unread()));
        out.seen.back().body.append(s.data);
        reader.skip(s.consumed);
        if (s.state == body_decoder::status::error) out.error = body.error();
        if (s.state != body_decoder::status::complete) {
          if (s.state == body_decoder::status::incomplete && reader.buffered() > 0) continue;
          break;
        }
        for (const auto& t : body.trailers())
          out.seen.back().trailers.emplace_back(t.name, t.value);
        in_body = false;
      }
      const auto st = reader.parse();
      if (st == request_reader::status::error) out.error = reader.error();
      if (st != request_reader::status::complete) break;
      out.seen.push_back({std::string(reader.request().target), {}, {}});
      const auto started = body.start(reader.request(), max_body);
      reader.consume();
      if (started == body_decoder::status::error) {
        out.error = body.error();
        break;
      }
      in_body = started == body_decoder::status::incomplete;
    }
    if (out.error) break;
  }
  out.buffered = reader.buffered();
  out.scanned = reader.bytes_scanned();
  out.moved = reader.bytes_moved();
  return out;
}

const std::string mixed =
    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nGET\r\n8;x=y\r\n / HTTP/\r\n0\r\nT: 1\r\n\r\n"
    "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
    "PUT /d HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 19\r\n\r\nGET /f HTTP/1.1\r\n\r\n"
    "GET /partial HTTP/1.1\r\n";

TEST(BodyPipeline, HeadsAndBodiesInEverySplit) {
  for (const auto& parts : test::all_splits(mixed)) {
    SCOPED_TRACE(test::describe(parts));
    const auto r = read_pipelined(parts);
    EXPECT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.seen.size(), 5u);
    EXPECT_EQ(r.seen[0].target, "/a");
    EXPECT_EQ(r.seen[0].body, "hello");
    EXPECT_EQ(r.seen[1].target, "/b");
    EXPECT_EQ(r.seen[1].body, "GET / HTTP/");  // a body that looks like a head stays a body
    EXPECT_EQ(r.seen[1].trailers, (std::vector<std::pair<std::string, std::string>>{{"T", "1"}}));
    EXPECT_EQ(r.seen[2].target, "/c");
    EXPECT_EQ(r.seen[2].body, "");
    EXPECT_EQ(r.seen[3].target, "/d");
    EXPECT_EQ(r.seen[4].target, "/e");
    EXPECT_EQ(r.seen[4].body, "GET /f HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r.buffered, std::string_view("GET /partial HTTP/1.1\r\n").size());
  }
}

// A body that passes the limit ends the pipeline: what follows it is never read as a request.
TEST(BodyPipeline, ABodyPastTheLimitStopsThePipelineInEverySplit) {
  const std::string input =
      "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nGET \r\n7\r\n/x HTTP\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
  for (const auto& parts : test::all_splits(input)) {
    SCOPED_TRACE(test::describe(parts));
    const auto r = read_pipelined(parts, 10);
    EXPECT_EQ(r.error, errc::body_too_large);
    ASSERT_EQ(r.seen.size(), 1u);
    EXPECT_EQ(r.seen[0].body, "GET ");
  }
}

// Many small bodies in one read cost linear work, as the heads alone do.
TEST(BodyPipeline, TenThousandBodiesInOneReadCostLinearWork) {
  std::string all;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    all += i % 2 ? "POST /l HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                 : "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n0\r\n\r\n";
  }
  for (std::size_t read_size : {all.size(), std::size_t{4096}, std::size_t{7}}) {
    SCOPED_TRACE(read_size);
    test::pieces reads;
    for (std::size_t i = 0; i < all.size(); i += read_size)
      reads.push_back(all.substr(i, read_size));
    const auto r = read_pipelined(reads);
    ASSERT_EQ(r.seen.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(r.seen[1234].body, "abc");
    EXPECT_EQ(r.buffered, 0u);
    EXPECT_LE(r.scanned, 2 * all.size());
    EXPECT_LE(r.moved, all.size());
  }
}

TEST(RequestReader, SkipDropsBodyBytesAndStopsAtTheEnd) {
  request_reader reader;
  reader.append("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /n HTTP/1.1\r\n\r\n");
  ASSERT_EQ(reader.parse(), request_reader::status::complete);
  reader.consume();
  EXPECT_EQ(reader.unread().substr(0, 2), "ok");
  reader.skip(2);
  ASSERT_EQ(reader.parse(), request_reader::status::complete);
  EXPECT_EQ(reader.request().target, "/n");
  reader.consume();
  reader.skip(100);  // never past what was received
  EXPECT_EQ(reader.buffered(), 0u);
}

}  // namespace
}  // namespace duplex::http
