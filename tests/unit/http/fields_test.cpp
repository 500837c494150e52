#include <gtest/gtest.h>

#include <clocale>
#include <string>
#include <vector>

#include "duplex/http/cookie.hpp"
#include "duplex/http/grammar.hpp"
#include "duplex/http/response.hpp"
#include "duplex/http/url.hpp"

namespace duplex::http {
namespace {

TEST(Grammar, TcharIsExactlyRfc9110) {
  std::string all;
  for (int c = 0; c < 256; ++c)
    if (is_tchar(static_cast<unsigned char>(c))) all += static_cast<char>(c);
  EXPECT_EQ(all, "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~");
}

TEST(Grammar, TcharIgnoresTheLocale) {
  // isalnum under a Latin-1 locale counts 0xE9 (e acute) as a letter; the grammar must not.
  const char* was = std::setlocale(LC_ALL, nullptr);
  const std::string saved = was ? was : "C";
  if (std::setlocale(LC_ALL, "en_US.ISO-8859-1") == nullptr &&
      std::setlocale(LC_ALL, "de_DE.ISO-8859-1") == nullptr)
    GTEST_SKIP() << "no Latin-1 locale installed";
  EXPECT_FALSE(is_tchar(0xE9));
  EXPECT_FALSE(is_token("caf\xE9"));
  std::setlocale(LC_ALL, saved.c_str());
}

TEST(Grammar, Tokens) {
  EXPECT_TRUE(is_token("permessage-deflate"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token("a\"b"));
}

TEST(AppendField, WritesOneLine) {
  std::string out;
  EXPECT_TRUE(append_field(out, "Origin", "https://a.example"));
  EXPECT_EQ(out, "Origin: https://a.example\r\n");
}

TEST(AppendField, RefusesWhatCouldSplitTheHead) {
  std::string out;
  EXPECT_FALSE(append_field(out, "X", "a\r\nSet-Cookie: evil"));
  EXPECT_FALSE(append_field(out, "X", std::string_view("a\0b", 3)));
  EXPECT_FALSE(append_field(out, "Bad Name", "v"));
  EXPECT_FALSE(append_field(out, "Bad:Name", "v"));
  EXPECT_FALSE(append_field(out, "", "v"));
  EXPECT_EQ(out, "");
}

std::vector<header> cookies(std::vector<std::string_view> values) {
  std::vector<header> h{{"Host", "x"}};
  for (auto v : values)
    h.push_back({"cookie", v});
  return h;
}

TEST(Cookie, FindsByExactNameOverEveryHeader) {
  const auto h = cookies({"a=1; session=abc", "theme=dark;x=y"});
  EXPECT_EQ(find_cookie(h, "session"), "abc");
  EXPECT_EQ(find_cookie(h, "x"), "y");
  EXPECT_EQ(find_cookie(h, "theme"), "dark");
  EXPECT_EQ(find_cookie(h, "sess"), std::nullopt);
  EXPECT_EQ(find_cookie(h, "Host"), std::nullopt);
}

TEST(Cookie, FirstOneWinsAndEmptyValuesCount) {
  EXPECT_EQ(find_cookie(cookies({"a=1; a=2"}), "a"), "1");
  EXPECT_EQ(find_cookie(cookies({"a="}), "a"), "");
  EXPECT_EQ(find_cookie(cookies({"a; b=2"}), "a"), std::nullopt);
  EXPECT_EQ(find_cookie(cookies({}), "a"), std::nullopt);
}

TEST(Url, Parts) {
  url_parts u;
  ASSERT_TRUE(parse_url("ws://example.com/chat?x=1", u));
  EXPECT_EQ(u.scheme, "ws");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, std::nullopt);
  EXPECT_EQ(u.target, "/chat?x=1");
  ASSERT_TRUE(parse_url("wss://[::1]:8443", u));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/");
  ASSERT_TRUE(parse_url("ws://h:9?q", u));
  EXPECT_EQ(u.target, "/?q");
}

TEST(Url, Refusals) {
  url_parts u;
  for (std::string_view bad :
       {"example.com", "://h", "ws://", "ws://user@h/", "ws://h:/", "ws://h:0", "ws://h:65536",
        "ws://h:1x", "ws://[::1/", "ws://[::1]x/", "ws://:80/", "ws://h/a b", "ws://h/\x7f"})
    EXPECT_FALSE(parse_url(bad, u)) << bad;
}

TEST(Url, HostHeader) {
  EXPECT_EQ(host_header("example.com", 80, 80), "example.com");
  EXPECT_EQ(host_header("example.com", 8080, 80), "example.com:8080");
  EXPECT_EQ(host_header("::1", 443, 443), "[::1]");
  EXPECT_EQ(host_header("::1", 8443, 443), "[::1]:8443");
}

}  // namespace
}  // namespace duplex::http
