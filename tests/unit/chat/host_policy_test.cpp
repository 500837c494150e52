#include "src/host_policy.hpp"

#include <gtest/gtest.h>

namespace duplex::chat {
namespace {

TEST(HostPolicy, AnswersIpLiteralsLocalhostTheListenNameAndListedNames) {
  host_policy p("chat.internal", {"chat.example.com"});
  for (const char* ok : {"127.0.0.1", "127.0.0.1:8080", "10.1.2.3:80", "[::1]", "[::1]:8080",
                         "localhost", "LOCALHOST:8080", "localhost.", "chat.internal:443",
                         "Chat.Example.Com", "chat.example.com:8443"})
    EXPECT_TRUE(p.allows(ok)) << ok;
  for (const char* no :
       {"", "evil.example", "evil.example:8080", "localhost.evil.example", "chat.example.com.evil",
        "127.0.0.1.nip.io", "[::1", "[not-v6]:80", "localhost:http", "localhost:123456", ":80"})
    EXPECT_FALSE(p.allows(no)) << no;
}

TEST(HostPolicy, HostOfAPublicUrl) {
  EXPECT_EQ(host_of_url("https://Chat.Example.com/"), "chat.example.com");
  EXPECT_EQ(host_of_url("http://chat.example.com:8080"), "chat.example.com");
  EXPECT_EQ(host_of_url("ftp://x"), "");
  EXPECT_EQ(host_of_url("chat.example.com"), "");
}

}  // namespace
}  // namespace duplex::chat
