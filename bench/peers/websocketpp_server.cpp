// websocketpp peer for duplex-bench: echo on any path, fan-out to every client on /broadcast,
// on websocketpp's default single-threaded asio transport.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

using server_type = websocketpp::server<websocketpp::config::asio>;
using websocketpp::connection_hdl;

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 9000);
  server_type server;
  std::set<connection_hdl, std::owner_less<connection_hdl>> subscribers;
  server.clear_access_channels(websocketpp::log::alevel::all);
  server.clear_error_channels(websocketpp::log::elevel::all);
  server.init_asio();
  server.set_reuse_addr(true);
  server.set_listen_backlog(4096);
  server.set_open_handler([&](connection_hdl h) {
    auto con = server.get_con_from_hdl(h);
    con->get_raw_socket().set_option(boost::asio::ip::tcp::no_delay(true));
    if (con->get_resource() == "/broadcast") subscribers.insert(h);
  });
  server.set_close_handler([&](connection_hdl h) { subscribers.erase(h); });
  server.set_fail_handler([&](connection_hdl h) { subscribers.erase(h); });
  server.set_message_handler([&](connection_hdl h, server_type::message_ptr msg) {
    websocketpp::lib::error_code ec;
    if (subscribers.count(h) == 0) {
      server.send(h, msg->get_payload(), msg->get_opcode(), ec);
      return;
    }
    for (const auto& s : subscribers) server.send(s, msg->get_payload(), msg->get_opcode(), ec);
  });
  server.listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), port));
  server.start_accept();
  std::printf("websocketpp listening on %u\n", port);
  std::fflush(stdout);
  server.run();
}
