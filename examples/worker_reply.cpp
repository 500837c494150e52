// Sending to one socket from another thread: each message goes to a worker thread with the
// socket's handle, and the worker answers through that handle when it is done (a slow lookup,
// a database call). A handle whose socket has closed just drops the answer.
// With --self-test a client sends three words and waits for them in capitals.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

// Work for the worker: whom to answer and what they asked.
struct job {
  duplex::socket_handle reply_to;
  std::string text;
};

class worker {
 public:
  worker() : thread_([this] { run(); }) {}
  ~worker() {
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void submit(job j) {
    {
      std::lock_guard lock(m_);
      jobs_.push_back(std::move(j));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(m_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job j = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(20ms);  // the slow part, off the event loop
      for (char& c : j.text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      j.reply_to.send(j.text);  // safe from this thread; a no-op if the socket closed
      lock.lock();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  bool done_ = false;
  std::thread thread_;
};

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  worker work;
  duplex::server_options options;
  options.port = self_test ? 0 : 9004;
  options.handle_signals = !self_test;
  duplex::server server(options);
  duplex::ws_behavior b;
  b.on_message = [&](duplex::websocket& ws, std::string_view data, duplex::ws::opcode) {
    work.submit({ws.handle(), std::string(data)});
  };
  server.ws("/", std::move(b));
  if (!self_test) {
    server.run();
    return 0;
  }
  server.listen();
  std::thread serving([&] { server.run(); });

  duplex::net::event_loop loop;
  std::string got;
  duplex::client_handlers h;
  h.on_open = [](duplex::client& c) {
    for (const char* word : {"one", "two", "three"})
      c.send(word);
  };
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    got += std::string(data) + " ";
    if (got.size() >= 14) c.close();
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](duplex::client&, const duplex::client_error&) { loop.stop(); };
  duplex::client client(loop, {}, h);
  loop.add_timer(10s, [&] { loop.stop(); });
  client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
  loop.run();
  server.shutdown();
  serving.join();
  std::printf("worker_reply: %s\n", got.c_str());
  return got == "ONE TWO THREE " ? 0 : 1;
}
