// Boost.Beast peer for duplex-bench: echo on any path, fan-out to every client on /broadcast.
// Written the way Beast's own examples work: one io_context, one async read loop per socket,
// one write in flight with a queue behind it.
#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <set>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class session;
std::set<session*> subscribers;  // sockets on /broadcast

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket s) : ws_(std::move(s)) {}
  ~session() { subscribers.erase(this); }

  void start() {
    ws_.next_layer().set_option(tcp::no_delay(true));
    ws_.read_message_max(64 << 20);
    beast::http::async_read(ws_.next_layer(), buffer_, request_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->accept();
                            });
  }

  void deliver(std::shared_ptr<const std::string> msg, bool text) {
    queue_.push_back({std::move(msg), text});
    if (queue_.size() == 1) write_next();
  }

 private:
  void accept() {
    broadcast_ = request_.target() == "/broadcast";
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      if (self->broadcast_) subscribers.insert(self.get());
      self->read();
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->on_message();
    });
  }

  void on_message() {
    auto msg = std::make_shared<const std::string>(beast::buffers_to_string(buffer_.data()));
    buffer_.consume(buffer_.size());
    const bool text = ws_.got_text();
    if (broadcast_) {
      for (session* s : subscribers) s->deliver(msg, text);
    } else {
      deliver(std::move(msg), text);
    }
    read();
  }

  void write_next() {
    ws_.text(queue_.front().text);
    ws_.async_write(asio::buffer(*queue_.front().data),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write_next();
                    });
  }

  struct outgoing {
    std::shared_ptr<const std::string> data;
    bool text;
  };
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  beast::http::request<beast::http::string_body> request_;
  std::deque<outgoing> queue_;
  bool broadcast_ = false;
};

void accept_loop(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<session>(std::move(s))->start();
    accept_loop(acceptor);
  });
}

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 9000);
  asio::io_context io{1};
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  acceptor.listen(4096);
  accept_loop(acceptor);
  std::printf("beast listening on %u\n", port);
  std::fflush(stdout);
  io.run();
}
