// The session cookie's attributes, and reading a token back from a Cookie header.
#include <gtest/gtest.h>

#include "src/client_address.hpp"
#include "src/cookies.hpp"

namespace duplex::chat {
namespace {

TEST(Cookies, PlainHttp) {
  cookie_options o;
  o.max_age = std::chrono::seconds(3600);
  EXPECT_EQ(session_cookie(o, "abc"),
            "duplex_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
  EXPECT_EQ(clearing_cookie(o), "duplex_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
}

TEST(Cookies, UnderTlsSecureWithTheHostPrefix) {
  cookie_options o;
  o.secure = true;
  o.max_age = std::chrono::seconds(60);
  EXPECT_EQ(cookie_name(o), "__Host-duplex_session");
  EXPECT_EQ(session_cookie(o, "abc"),
            "__Host-duplex_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
  EXPECT_EQ(clearing_cookie(o),
            "__Host-duplex_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
}

TEST(Cookies, FindsOneByName) {
  EXPECT_EQ(find_cookie("a=1; duplex_session=tok; b=2", "duplex_session"), "tok");
  EXPECT_EQ(find_cookie("duplex_session=tok", "duplex_session"), "tok");
  EXPECT_EQ(find_cookie("a=1;duplex_session=\"tok\"", "duplex_session"), "tok");
  EXPECT_EQ(find_cookie("  duplex_session = tok  ;", "duplex_session"), "tok");
  EXPECT_EQ(find_cookie("x_duplex_session=1; duplex_session=2", "duplex_session"), "2");
  EXPECT_EQ(find_cookie("duplex_session=", "duplex_session"), "");
  EXPECT_FALSE(find_cookie("", "duplex_session"));
  EXPECT_FALSE(find_cookie("duplex_session", "duplex_session"));
  EXPECT_FALSE(find_cookie(";;;=;", "duplex_session"));
  EXPECT_EQ(find_cookie("a=\"", "a"), "\"");
}

TEST(ClientAddress, HostWithoutPort) {
  EXPECT_EQ(peer_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(peer_host("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(peer_host("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(peer_host("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(peer_host("?"), "?");
  EXPECT_EQ(peer_host(std::string(100, 'x')).size(), 64u);
}

TEST(ClientAddress, KeysV4ByAddressAndV6ByItsSlash64) {
  EXPECT_EQ(address_key("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(address_key("[2001:db8:1:2:3:4:5:6]:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("[2001:db8:1:2:ffff::9]:1"), address_key("[2001:db8:1:2::1]:2"));
  EXPECT_NE(address_key("[2001:db8:1:3::1]:1"), address_key("[2001:db8:1:2::1]:2"));
  EXPECT_EQ(address_key("[::ffff:192.0.2.7]:80"), "192.0.2.7");
  EXPECT_EQ(address_key("not an address"), "not an address");
}

}  // namespace
}  // namespace duplex::chat
