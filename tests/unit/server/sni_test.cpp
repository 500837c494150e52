// Several certificates chosen by SNI, and reloading them (explicitly and on SIGHUP) while a
// connection that started before stays usable. The client side is plain blocking OpenSSL, so
// the test can name any SNI and look at the certificate the server presented.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/tls_sni.hpp"
#include "support/certs.hpp"
#include "support/test_client.hpp"
#include "support/tls_peer.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

void copy_over(const cert_files& from, const cert_files& to) {
  namespace fs = std::filesystem;
  fs::copy_file(from.cert, to.cert, fs::copy_options::overwrite_existing);
  fs::copy_file(from.key, to.key, fs::copy_options::overwrite_existing);
}

class Sni : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.ok && b_.ok) << "openssl could not make a test certificate";
  }
  server_options options() {
    server_options o;
    o.certificates = {{a_.cert, a_.key}, {b_.cert, b_.key}};
    return o;
  }
  static void routes(server& s) {
    s.http("/hi", [](const http::request&, http_response& res) { res.body("hi\n"); });
  }

  cert_files a_{"DNS:a.test"};
  cert_files b_{"DNS:b.test,DNS:*.b.test"};
};

TEST(SniNames, ExactAndOneLabelWildcardIgnoringCase) {
  EXPECT_TRUE(net::sni_matches("a.test", "A.Test"));
  EXPECT_FALSE(net::sni_matches("a.test", "b.test"));
  EXPECT_TRUE(net::sni_matches("*.b.test", "x.b.test"));
  EXPECT_FALSE(net::sni_matches("*.b.test", "b.test"));
  EXPECT_FALSE(net::sni_matches("*.b.test", "y.x.b.test"));
  EXPECT_FALSE(net::sni_matches("*.b.test", ".b.test"));
  EXPECT_FALSE(net::sni_matches("", "a.test"));
}

TEST_F(Sni, TheClientsNamePicksTheCertificateAndTheFirstIsTheDefault) {
  running_server srv(options(), routes);
  for (auto [name, want] : {std::pair{"a.test", &a_},
                            {"b.test", &b_},
                            {"x.b.test", &b_},
                            {"unknown.test", &a_},
                            {"", &a_}}) {
    tls_peer peer(srv.port(), name);
    ASSERT_TRUE(peer.ok()) << name;
    EXPECT_TRUE(peer.presented(want->cert)) << name;
    EXPECT_EQ(peer.get("/hi"), "hi\n") << name;
  }
}

TEST_F(Sni, AReloadServesNewHandshakesAndKeepsOpenConnections) {
  running_server srv(options(), routes);
  tls_peer before(srv.port(), "b.test");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before.presented(b_.cert));
  ASSERT_EQ(before.get("/hi"), "hi\n");

  cert_files renewed("DNS:b.test");
  ASSERT_TRUE(renewed.ok);
  copy_over(renewed, b_);
  EXPECT_TRUE(srv.get().reload_certificates());
  EXPECT_TRUE(srv.logged("certificates reloaded"));

  tls_peer after(srv.port(), "b.test");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after.presented(renewed.cert));
  EXPECT_EQ(after.get("/hi"), "hi\n");
  EXPECT_EQ(before.get("/hi"), "hi\n");  // the connection from before the reload lives on
  tls_peer other(srv.port(), "a.test");
  EXPECT_TRUE(other.ok() && other.presented(a_.cert));
}

TEST_F(Sni, ABadNewCertificateKeepsTheOldOnesAndSaysWhy) {
  running_server srv(options(), routes);
  std::ofstream(b_.key, std::ios::trunc) << "not a key\n";
  EXPECT_FALSE(srv.get().reload_certificates());
  EXPECT_TRUE(srv.logged("certificate reload failed, the previous certificates stay"));
  EXPECT_TRUE(srv.logged(b_.key));
  tls_peer peer(srv.port(), "b.test");
  ASSERT_TRUE(peer.ok());
  EXPECT_TRUE(peer.presented(b_.cert));
}

TEST_F(Sni, SighupReloadsWhenTheServerHandlesSignals) {
  auto o = options();
  o.handle_signals = true;
  o.host = "127.0.0.1";
  std::mutex m;
  std::vector<std::string> lines;
  o.log = [&](std::string_view l) {
    std::lock_guard lock(m);
    lines.emplace_back(l);
  };
  server s(o);
  routes(s);
  s.listen();
  std::atomic<bool> running{false};
  s.post(0, [&] { running = true; });  // runs once run() has installed its signal handlers
  std::thread t([&] { s.run(); });
  cert_files renewed("DNS:a.test");
  ASSERT_TRUE(renewed.ok);
  copy_over(renewed, a_);
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  ::kill(::getpid(), SIGHUP);
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return std::find(lines.begin(), lines.end(), "certificates reloaded (2)") != lines.end();
  }));
  {
    tls_peer peer(s.port(), "a.test");
    EXPECT_TRUE(peer.ok() && peer.presented(renewed.cert));
  }
  s.shutdown();
  t.join();
}

}  // namespace
}  // namespace duplex
