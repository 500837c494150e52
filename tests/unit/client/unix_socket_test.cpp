// Unix-domain sockets: a server listening on a path (its mode, a stale file, a live one, a file
// that is not a socket, several loops) and a client reaching it by ws+unix:// or an option.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "duplex/client/client.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct temp_dir {
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("duplex-unix-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
  fs::path path;
};

server_options on_path(const std::string& path) {
  server_options o;
  o.unix_path = path;
  return o;
}

struct outcome {
  std::string echoed;
  std::string error;
  std::error_code code;
};

outcome echo_once(const std::string& url, client_options o = {}) {
  net::event_loop loop;
  outcome out;
  client_handlers h;
  h.on_open = [](client& c) { c.send("over unix"); };
  h.on_message = [&](client& c, std::string_view d, ws::opcode) {
    out.echoed = d;
    c.close();
  };
  h.on_close = [&](client&, ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](client&, const client_error& e) {
    out.error = e.message();
    out.code = e.code;
    loop.stop();
  };
  client c(loop, std::move(o), std::move(h));
  loop.add_timer(5000ms, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return out;
}

// A socket file with nobody behind it, as a process that died leaves it.
void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
}

TEST(UnixSocket, EchoByUrlAndByOptionWithTheAskedMode) {
  temp_dir dir;
  const std::string path = dir.file("echo.sock");
  echo_fixture fx;
  server_options so = on_path(path);
  so.unix_mode = 0600;
  {
    running_server s(so, fx.setup());
    EXPECT_EQ(s.port(), 0);
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(echo_once("ws+unix://" + path + ":/?x=1").echoed, "over unix");
    EXPECT_EQ(echo_once("ws+unix://" + path).echoed, "over unix");
    client_options co;
    co.unix_socket = path;
    co.proxy = "http://127.0.0.1:9";  // never used for a Unix-domain socket
    EXPECT_EQ(echo_once("ws://app.internal/", co).echoed, "over unix");
  }
  EXPECT_FALSE(fs::exists(path));  // the server removes its socket file
}

TEST(UnixSocket, AStaleFileIsReplacedUnlessForbidden) {
  temp_dir dir;
  const std::string path = dir.file("stale.sock");
  make_stale_socket(path);
  server_options keep = on_path(path);
  keep.unlink_stale = false;
  EXPECT_THROW(running_server(keep, [](server&) {}), std::system_error);
  EXPECT_TRUE(fs::exists(path));
  echo_fixture fx;
  running_server s(on_path(path), fx.setup());
  EXPECT_EQ(echo_once("ws+unix://" + path).echoed, "over unix");
}

TEST(UnixSocket, ALiveSocketOrAnotherFileIsNeverTaken) {
  temp_dir dir;
  const std::string path = dir.file("live.sock");
  echo_fixture fx;
  running_server first(on_path(path), fx.setup());
  try {
    running_server second(on_path(path), [](server&) {});
    ADD_FAILURE() << "a second server took a live socket";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("another process listens there"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(echo_once("ws+unix://" + path).echoed, "over unix");  // the first still serves
  const std::string plain = dir.file("notes.txt");
  std::ofstream(plain) << "keep me";
  EXPECT_THROW(running_server(on_path(plain), [](server&) {}), std::system_error);
  std::ifstream in(plain);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  const std::string too_long = dir.file(std::string(120, 'x').c_str());
  EXPECT_THROW(running_server(on_path(too_long), [](server&) {}), std::invalid_argument);
}

TEST(UnixSocket, SeveralLoopsShareOneSocket) {
  temp_dir dir;
  const std::string path = dir.file("many.sock");
  echo_fixture fx;
  server_options so = on_path(path);
  so.threads = 3;
  running_server s(so, fx.setup());
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(echo_once("ws+unix://" + path).echoed, "over unix") << i;
  EXPECT_EQ(fx.opened.load(), 12);
}

TEST(UnixSocket, ClientErrorsNameThePath) {
  temp_dir dir;
  const auto missing = echo_once("ws+unix://" + dir.file("nobody.sock"));
  EXPECT_EQ(missing.code, client_errc::connect_failed);
  EXPECT_NE(missing.error.find("nobody.sock"), std::string::npos) << missing.error;
  EXPECT_EQ(echo_once("ws+unix://").code, client_errc::bad_url);
  EXPECT_EQ(echo_once("ws+unix://" + std::string(200, 'p')).code, client_errc::bad_url);
}

TEST(WsUrl, UnixForms) {
  ws_url u;
  ASSERT_TRUE(ws_url::parse("ws+unix:///run/app.sock:/chat?room=1", u));
  EXPECT_EQ(u.unix_path, "/run/app.sock");
  EXPECT_EQ(u.target, "/chat?room=1");
  EXPECT_EQ(u.host_header(), "localhost");
  EXPECT_FALSE(u.secure);
  ASSERT_TRUE(ws_url::parse("wss+unix://rel.sock", u));
  EXPECT_TRUE(u.secure);
  EXPECT_EQ(u.unix_path, "rel.sock");
  EXPECT_EQ(u.target, "/");
  EXPECT_FALSE(ws_url::parse("ws+unix://:/x", u));
  EXPECT_FALSE(ws_url::parse("ws+unix:///a.sock:chat", u));
  EXPECT_FALSE(ws_url::parse("ws+unix:///a.sock:/a b", u));
}

}  // namespace
}  // namespace duplex
