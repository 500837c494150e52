// The PROXY protocol v2 parser, at every split of its input, and the trust rules for proxies:
// address ranges and the Forwarded / X-Forwarded-For walk.
#include <gtest/gtest.h>

#include <stdexcept>

#include "net/proxy_header.hpp"
#include "server/client_address.hpp"

namespace duplex {
namespace {

using net::parse_proxy_v2;
using net::proxy_status;

std::string v2(unsigned char ver_cmd, unsigned char fam, std::string body) {
  std::string h(net::proxy_v2_signature);
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(body.size() >> 8);
  h += static_cast<char>(body.size() & 0xFF);
  return h + body;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b)
    s += static_cast<char>(x);
  return s;
}

// TCP over IPv4 from 203.0.113.9:5555 to 192.0.2.1:443, with a TLV after the addresses.
std::string tcp4() {
  return v2(0x21, 0x11,
            bytes({203, 0, 113, 9, 192, 0, 2, 1, 0x15, 0xB3, 0x01, 0xBB}) +
                bytes({0x04, 0x00, 0x02, 'h', 'i'}));
}

std::string tcp6() {
  std::string src(16, '\0'), dst(16, '\0');
  src[0] = 0x20, src[1] = 0x01, src[2] = 0x0d, src[3] = static_cast<char>(0xb8), src[15] = 7;
  dst[15] = 1;
  return v2(0x21, 0x21, src + dst + bytes({0x00, 0x50, 0x1F, 0x90}));
}

TEST(ProxyV2, EveryPrefixAsksForExactlyTheRestAndNeverMore) {
  for (const std::string& h : {tcp4(), tcp6(), v2(0x20, 0x00, ""), v2(0x21, 0x00, "xyz")}) {
    for (std::size_t k = 0; k < h.size(); ++k) {
      const auto r = parse_proxy_v2(std::string_view(h).substr(0, k));
      ASSERT_EQ(r.status, proxy_status::need_more) << k;
      ASSERT_GT(r.need, 0u);
      ASSERT_LE(k + r.need, h.size()) << "would read past the header at " << k;
    }
    const auto r = parse_proxy_v2(h + "GET / HTTP/1.1\r\n");
    ASSERT_EQ(r.status, proxy_status::done);
    EXPECT_EQ(r.size, h.size());
  }
}

TEST(ProxyV2, ReadsTheAddressesOfTcp4AndTcp6) {
  auto r = parse_proxy_v2(tcp4());
  ASSERT_EQ(r.status, proxy_status::done);
  EXPECT_TRUE(r.proxied);
  EXPECT_EQ(r.source.to_string(), "203.0.113.9:5555");
  EXPECT_EQ(r.destination.to_string(), "192.0.2.1:443");
  r = parse_proxy_v2(tcp6());
  ASSERT_EQ(r.status, proxy_status::done);
  EXPECT_EQ(r.source.to_string(), "[2001:db8::7]:80");
  EXPECT_EQ(r.destination.to_string(), "[::1]:8080");
}

TEST(ProxyV2, LocalAndUnspecifiedKeepThePeer) {
  for (const auto& h : {v2(0x20, 0x11, std::string(12, '\1')), v2(0x21, 0x00, ""),
                        v2(0x21, 0x31, std::string(216, '\0')), v2(0x20, 0x00, "")}) {
    const auto r = parse_proxy_v2(h);
    ASSERT_EQ(r.status, proxy_status::done);
    EXPECT_FALSE(r.proxied);
  }
}

TEST(ProxyV2, RefusesWhatIsNotAValidHeaderAsSoonAsItShows) {
  const std::string good = tcp4();
  for (std::size_t i = 0; i < net::proxy_v2_signature.size(); ++i) {
    std::string bad = good.substr(0, i + 1);
    bad[i] ^= 0x40;
    EXPECT_EQ(parse_proxy_v2(bad).status, proxy_status::invalid) << i;
  }
  EXPECT_EQ(parse_proxy_v2("GET / HTTP/1.1\r\n").status, proxy_status::invalid);
  EXPECT_EQ(parse_proxy_v2("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n").status, proxy_status::invalid);
  const auto invalid = [](const std::string& h) {
    return parse_proxy_v2(h).status == proxy_status::invalid;
  };
  EXPECT_TRUE(invalid(v2(0x11, 0x11, std::string(12, '\0'))));  // version 1 in binary
  EXPECT_TRUE(invalid(v2(0x22, 0x11, std::string(12, '\0'))));  // command 2
  EXPECT_TRUE(invalid(v2(0x21, 0x41, std::string(12, '\0'))));  // family 4
  EXPECT_TRUE(invalid(v2(0x21, 0x13, std::string(12, '\0'))));  // transport 3
  EXPECT_TRUE(invalid(v2(0x21, 0x11, std::string(11, '\0'))));  // shorter than its addresses
  EXPECT_TRUE(invalid(v2(0x21, 0x21, std::string(35, '\0'))));
  // Too long is refused from the fixed part, before any of it is read.
  const std::string head = v2(0x21, 0x11, std::string(5000, '\0')).substr(0, 16);
  EXPECT_TRUE(invalid(head));
}

using detail::forwarded_client;
using detail::parse_ip;
using detail::proxy_trust;

TEST(ProxyTrust, AddressesAndRangesOfBothFamilies) {
  proxy_trust t({"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1", "172.16.0.0/12"});
  EXPECT_TRUE(t.trusts(*parse_ip("10.200.1.1")));
  EXPECT_FALSE(t.trusts(*parse_ip("11.0.0.1")));
  EXPECT_TRUE(t.trusts(*parse_ip("192.0.2.7")));
  EXPECT_FALSE(t.trusts(*parse_ip("192.0.2.8")));
  EXPECT_TRUE(t.trusts(*parse_ip("172.31.255.255")));
  EXPECT_FALSE(t.trusts(*parse_ip("172.32.0.0")));
  EXPECT_TRUE(t.trusts(*parse_ip("fd12::3")));
  EXPECT_FALSE(t.trusts(*parse_ip("fe80::1")));
  EXPECT_TRUE(t.trusts(*parse_ip("[::1]")));
  EXPECT_TRUE(t.trusts(*parse_ip("::ffff:10.1.2.3")));  // IPv4 on a dual-stack socket
  EXPECT_FALSE(proxy_trust(std::vector<std::string>{}).trusts(*parse_ip("127.0.0.1")));
  EXPECT_TRUE(proxy_trust({"0.0.0.0/0"}).trusts(*parse_ip("8.8.8.8")));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/", "1.2.3/8", ""})
    EXPECT_THROW(proxy_trust(std::vector<std::string>{bad}), std::invalid_argument) << bad;
}

http::request with(std::vector<http::header> headers) {
  http::request r;
  r.method = "GET";
  r.target = "/";
  r.headers = std::move(headers);
  return r;
}

TEST(Forwarded, XForwardedForFromTheRightPastTrustedHops) {
  proxy_trust t({"10.0.0.0/8"});
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "198.51.100.1"}}), t), "198.51.100.1");
  // What the client wrote itself (the leftmost) is passed over: the last untrusted hop wins.
  EXPECT_EQ(forwarded_client(with({{"x-forwarded-for", "1.1.1.1, 198.51.100.1, 10.0.0.2"}}), t),
            "198.51.100.1");
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "garbage, 198.51.100.1"}}), t),
            "198.51.100.1");
  EXPECT_EQ(forwarded_client(
                with({{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "10.1.1.1"}}), t),
            "198.51.100.1");
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}}), t), "10.0.0.1");
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "[2001:db8::1]:443"}}), t),
            "[2001:db8::1]:443");
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "198.51.100.1:8080"}}), t),
            "198.51.100.1:8080");
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "198.51.100.1, unknown"}}), t),
            std::nullopt);
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "198.51.100.1:99999"}}), t), std::nullopt);
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", ""}}), t), std::nullopt);
  EXPECT_EQ(forwarded_client(with({}), t), std::nullopt);
}

TEST(Forwarded, ForwardedTakesPrecedenceAndItsForParameterIsRead) {
  proxy_trust t({"10.0.0.0/8"});
  EXPECT_EQ(forwarded_client(with({{"X-Forwarded-For", "1.1.1.1"},
                                   {"Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"}}),
                             t),
            "192.0.2.60");
  EXPECT_EQ(
      forwarded_client(
          with({{"Forwarded", "for=\"[2001:db8:cafe::17]:4711\", For=10.0.0.3;proto=https"}}), t),
      "[2001:db8:cafe::17]:4711");
  EXPECT_EQ(forwarded_client(with({{"Forwarded", "for=_hidden"}}), t), std::nullopt);
  EXPECT_EQ(forwarded_client(with({{"Forwarded", "proto=https"}}), t), std::nullopt);
}

}  // namespace
}  // namespace duplex
