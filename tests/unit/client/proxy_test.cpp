// HTTP CONNECT proxies: the parsers, and ws:// and wss:// through a real proxy the test starts
// (tests/support/connect_proxy.py), with and without authentication, and proxies that fail.
#include <gtest/gtest.h>

#include <cstdlib>

#include "client/proxy.hpp"
#include "duplex/client/client.hpp"
#include "support/certs.hpp"
#include "support/connect_proxy.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

TEST(ProxyConfig, ParsesTheUsualForms) {
  detail::proxy_config p;
  std::string err;
  ASSERT_TRUE(detail::proxy_config::parse("http://proxy.example:3128/", p, err)) << err;
  EXPECT_EQ(p.host, "proxy.example");
  EXPECT_EQ(p.port, 3128);
  EXPECT_TRUE(p.authorization.empty());
  ASSERT_TRUE(detail::proxy_config::parse("HTTP://u%40x:p%3Ass@[::1]:8080", p, err)) << err;
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.port, 8080);
  EXPECT_EQ(p.authorization, "Basic dUB4OnA6c3M=");  // base64 of "u@x:p:ss"
  ASSERT_TRUE(detail::proxy_config::parse("proxy:81", p, err)) << err;
  EXPECT_EQ(p.port, 81);
  ASSERT_TRUE(detail::proxy_config::parse("http://proxy", p, err)) << err;
  EXPECT_EQ(p.port, 80);
  for (const char* bad :
       {"https://proxy:443", "socks5://proxy:1080", "http://proxy:99999", "http://proxy/path",
        "http://u%4@proxy", "http://", "http://a b:80", ""}) {
    err.clear();
    EXPECT_FALSE(detail::proxy_config::parse(bad, p, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(ProxyConfig, NoProxyEntries) {
  using detail::no_proxy_matches;
  EXPECT_TRUE(no_proxy_matches("localhost,127.0.0.1", "127.0.0.1", 80));
  EXPECT_TRUE(no_proxy_matches("example.com", "a.b.Example.COM", 80));
  EXPECT_TRUE(no_proxy_matches(" .example.com", "example.com", 80));
  EXPECT_TRUE(no_proxy_matches("*.example.com", "x.example.com", 80));
  EXPECT_FALSE(no_proxy_matches("example.com", "badexample.com", 80));
  EXPECT_TRUE(no_proxy_matches("*", "anything", 1));
  EXPECT_TRUE(no_proxy_matches("host:8080", "host", 8080));
  EXPECT_FALSE(no_proxy_matches("host:8080", "host", 8081));
  EXPECT_TRUE(no_proxy_matches("[::1]:9,::2", "::1", 9));
  EXPECT_TRUE(no_proxy_matches("::1", "::1", 9));
  EXPECT_FALSE(no_proxy_matches("", "host", 80));
  EXPECT_FALSE(no_proxy_matches(",,:,.", "host", 80));
}

TEST(ProxyAnswer, EveryOutcomeInEveryPiece) {
  struct item {
    std::string bytes;
    detail::proxy_answer::state want;
    int status;
  };
  using st = detail::proxy_answer::state;
  const std::vector<item> items = {
      {"HTTP/1.1 200 Connection Established\r\n\r\n", st::tunnel, 200},
      {"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n", st::tunnel, 200},
      {"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", st::refused, 407},
      {"SSH-2.0-x\r\n\r\n", st::malformed, 0},
      // In one piece: what came with the answer is no proxy's to send. (Split after the head,
      // the tunnel is up first and the bytes reach the WebSocket handshake, which refuses them.)
      {"HTTP/1.1 200 OK\r\n\r\nearly", st::malformed, 200},
  };
  for (const auto& it : items) {
    const bool whole_only = it.bytes.ends_with("early");
    for (std::size_t split = whole_only ? it.bytes.size() : 1; split <= it.bytes.size(); ++split) {
      std::string buf;
      http::response_parser parser;
      detail::proxy_answer a;
      for (std::size_t at = 0; at < it.bytes.size() && a.result == st::incomplete; at += split) {
        buf += it.bytes.substr(at, split);
        a = detail::read_proxy_answer(buf, parser);
      }
      EXPECT_EQ(a.result, it.want) << it.bytes << " split " << split;
      if (a.result != st::malformed) {
        EXPECT_EQ(a.status, it.status) << it.bytes;
      }
    }
  }
}

TEST(ProxyConfig, ConnectRequestNamesTheServer) {
  detail::proxy_config p;
  p.authorization = "Basic eDp5";
  EXPECT_EQ(detail::connect_request(p, "::1", 443),
            "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic eDp5"
            "\r\n\r\n");
}

struct outcome {
  bool echoed = false;
  std::string error;
  std::error_code code;
  int status = 0;
};

outcome echo_once(const std::string& url, client_options o) {
  net::event_loop loop;
  outcome out;
  o.open_timeout = 3000ms;
  client_handlers h;
  h.on_open = [](client& c) { c.send("through"); };
  h.on_message = [&](client& c, std::string_view d, ws::opcode) {
    out.echoed = d == "through";
    c.close();
  };
  h.on_close = [&](client&, ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](client&, const client_error& e) {
    out.error = e.message();
    out.code = e.code;
    out.status = e.status;
    loop.stop();
  };
  client c(loop, std::move(o), std::move(h));
  loop.add_timer(5000ms, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return out;
}

std::string ws_url_for(std::uint16_t port, bool secure = false) {
  return std::string(secure ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port) + "/";
}

TEST(ClientProxy, WsThroughTheProxy) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  connect_proxy proxy;
  ASSERT_NE(proxy.port(), 0);
  client_options o;
  o.proxy = proxy.url();
  const auto out = echo_once(ws_url_for(s.port()), o);
  EXPECT_TRUE(out.echoed) << out.error;
  EXPECT_EQ(proxy.requests(), std::vector<std::string>{
                                  "CONNECT 127.0.0.1:" + std::to_string(s.port()) + " HTTP/1.1"});
}

TEST(ClientProxy, WssKeepsItsTlsInsideTheTunnel) {
  cert_files certs("DNS:localhost,IP:127.0.0.1");
  ASSERT_TRUE(certs.ok);
  server_options so;
  so.tls.cert_file = certs.cert;
  so.tls.key_file = certs.key;
  echo_fixture fx;
  running_server s(so, fx.setup());
  connect_proxy proxy;
  client_options o;
  o.proxy = proxy.url();
  o.tls.ca_file = certs.cert;
  const auto out = echo_once("wss://localhost:" + std::to_string(s.port()) + "/", o);
  EXPECT_TRUE(out.echoed) << out.error;
  EXPECT_EQ(proxy.requests(), std::vector<std::string>{
                                  "CONNECT localhost:" + std::to_string(s.port()) + " HTTP/1.1"});
}

TEST(ClientProxy, BasicAuthenticationAnd407) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  connect_proxy proxy({"--auth", "ann:s3cret"});
  client_options o;
  o.proxy = "http://ann:s3cret@127.0.0.1:" + std::to_string(proxy.port());
  EXPECT_TRUE(echo_once(ws_url_for(s.port()), o).echoed);
  o.proxy = proxy.url();
  const auto out = echo_once(ws_url_for(s.port()), o);
  EXPECT_FALSE(out.echoed);
  EXPECT_EQ(out.code, client_errc::proxy_refused);
  EXPECT_EQ(out.status, 407);
  EXPECT_NE(out.error.find("407"), std::string::npos) << out.error;
}

TEST(ClientProxy, AProxyThatFailsIsAClearError) {
  struct item {
    const char* answer;
    client_errc code;
    const char* says;
  };
  for (const item& it : {item{"502", client_errc::proxy_refused, "502"},
                         item{"garbage", client_errc::proxy_failed, "malformed"},
                         item{"extra", client_errc::proxy_failed, "after its answer"},
                         item{"close", client_errc::proxy_failed, "closed"}}) {
    connect_proxy proxy({"--answer", it.answer});
    client_options o;
    o.proxy = proxy.url();
    const auto out = echo_once(ws_url_for(9), o);
    EXPECT_EQ(out.code, it.code) << it.answer << ": " << out.error;
    EXPECT_NE(out.error.find(it.says), std::string::npos) << it.answer << ": " << out.error;
  }
  client_options o;
  o.proxy = "https://127.0.0.1:1";
  EXPECT_EQ(echo_once(ws_url_for(9), o).code, client_errc::proxy_failed);
}

// Sets environment variables for one test, and puts the old values back.
class scoped_env {
 public:
  using vars_t = std::vector<std::pair<std::string, std::string>>;
  explicit scoped_env(vars_t vars) {
    for (const char* name :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    for (auto& [k, v] : vars)
      ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~scoped_env() {
    for (auto& [k, v] : saved_) {
      if (v) {
        ::setenv(k.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(k.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(ClientProxy, TheEnvironmentIsReadOnlyWhenAskedAndNoProxyExempts) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  connect_proxy proxy;
  client_options from_env;
  from_env.proxy_from_environment = true;
  {
    scoped_env env(scoped_env::vars_t{{"HTTP_PROXY", proxy.url()}});
    EXPECT_TRUE(echo_once(ws_url_for(s.port()), {}).echoed);  // not asked: direct
    EXPECT_TRUE(proxy.requests().empty());
    EXPECT_TRUE(echo_once(ws_url_for(s.port()), from_env).echoed);
    EXPECT_EQ(proxy.requests().size(), 1u);
  }
  {
    scoped_env env(
        scoped_env::vars_t{{"http_proxy", proxy.url()}, {"no_proxy", "example.com, 127.0.0.1"}});
    EXPECT_TRUE(echo_once(ws_url_for(s.port()), from_env).echoed);
    EXPECT_EQ(proxy.requests().size(), 1u);  // exempt: still one
  }
  {
    scoped_env env(scoped_env::vars_t{{"https_proxy", proxy.url()}});  // for wss:// only
    EXPECT_TRUE(echo_once(ws_url_for(s.port()), from_env).echoed);
    EXPECT_EQ(proxy.requests().size(), 1u);
  }
  {
    scoped_env env(scoped_env::vars_t{{"http_proxy", "socks5://127.0.0.1:1"}});
    const auto out = echo_once(ws_url_for(s.port()), from_env);
    EXPECT_EQ(out.code, client_errc::proxy_failed);
    EXPECT_NE(out.error.find("http_proxy"), std::string::npos) << out.error;
  }
}

}  // namespace
}  // namespace duplex
