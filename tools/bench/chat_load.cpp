#include "chat_load.hpp"

#include <time.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string_view>

#include "duplex/client/client.hpp"
#include "duplex/net/event_loop.hpp"
#include "histogram.hpp"

namespace duplex::bench {
namespace {

using std::chrono::milliseconds;

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// A string member of a server message, or `otherwise`: a field of another type (which
// json::value would throw on) is treated as absent.
std::string field(const nlohmann::json& m, const char* key, const char* otherwise = "") {
  const auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

std::uint64_t ns(double seconds) {
  return static_cast<std::uint64_t>(seconds * 1e9);
}

constexpr unsigned connect_window = 200;  // users connecting or joining at once
constexpr milliseconds tick{5};           // how often the sender and the phases look up

struct user {
  std::unique_ptr<client> ws;
  unsigned room = 0, node = 0;
  bool joined = false, failed = false;
  std::uint64_t seq = 0;
};

struct room_stats {
  unsigned joined = 0;                        // members that joined
  std::uint64_t acked = 0, acked_window = 0;  // its messages stored: the whole run, the window
};

// One run: the users, the phases (open, send, drain, close) and what was counted.
class chat_run {
 public:
  explicit chat_run(const chat_config& cfg)
      : cfg_(cfg),
        plan_(make_plan(cfg.users, cfg.rooms, cfg.mix, cfg.placement,
                        static_cast<unsigned>(cfg.urls.size()))),
        users_(cfg.users),
        rooms_(cfg.rooms) {
    for (unsigned i = 0; i < cfg.users; ++i) {
      users_[i].room = plan_.user_room[i];
      users_[i].node = plan_.user_node[i];
    }
  }

  nlohmann::json run() {
    started_ = now_ns();
    loop_.add_timer(
        tick, [this] { step(); }, true);
    loop_.run();
    return report();
  }

 private:
  enum class phase { opening, sending, draining, closing };

  std::string nick(unsigned u) const { return cfg_.prefix + "u" + std::to_string(u); }
  std::string room(unsigned r) const { return cfg_.prefix + "r" + std::to_string(r); }

  void step() {
    const std::uint64_t now = now_ns();
    switch (phase_) {
      case phase::opening:
        return opening(now);
      case phase::sending:
        return sending(now);
      case phase::draining:
        if (now >= drain_end_ || (acked_ == sent_ && delivered_window_ == expected_window_))
          close_all(now);
        return;
      case phase::closing:
        if (now >= close_end_ || open_ == 0) loop_.stop();
        return;
    }
  }

  void opening(std::uint64_t now) {
    while (next_ < users_.size() && next_ - joined_ - failed_ < connect_window)
      start(next_++);
    const bool all = joined_ + failed_ == users_.size();
    if (!all && now < started_ + ns(cfg_.open_limit)) return;
    if (joined_ == 0) {
      error_ = "no user could join";
      return close_all(now);
    }
    opened_ = now;
    send_from_ = now;
    window_start_ = now + ns(cfg_.warmup);
    window_end_ = window_start_ + ns(cfg_.duration);
    phase_ = phase::sending;
    if (!cfg_.quiet)
      std::fprintf(stderr, "  %u users joined in %.1f s, %u failed; sending\n", joined_,
                   static_cast<double>(now - started_) / 1e9, failed_);
  }

  void start(unsigned u) {
    client_handlers h;
    h.on_open = [this, u](client& c) {
      ++open_;
      c.send(nlohmann::json{{"type", "hello"}, {"nick", nick(u)}}.dump());
    };
    h.on_message = [this, u](client& c, std::string_view data, ws::opcode) {
      on_message(u, c, data);
    };
    h.on_close = [this, u](client&, ws::close_code, std::string_view) {
      --open_;
      if (phase_ != phase::closing) ++lost_;
      fail(u);
    };
    h.on_error = [this, u](client&, const client_error& e) {
      count_error("connect: " + e.message());
      fail(u);
    };
    users_[u].ws = std::make_unique<client>(loop_, client_options{}, std::move(h));
    users_[u].ws->connect(cfg_.urls[users_[u].node]);
  }

  // Error texts come from the peer: past a few kinds, the rest are lumped together.
  void count_error(const std::string& what) {
    if (errors_.size() < 32 || errors_.count(what))
      ++errors_[what];
    else
      ++errors_["other"];
  }

  void fail(unsigned u) {
    user& x = users_[u];
    if (x.failed) return;
    x.failed = true;
    if (x.joined) --rooms_[x.room].joined;
    if (!x.joined) ++failed_;
  }

  void on_message(unsigned u, client& c, std::string_view data) {
    const auto m = nlohmann::json::parse(data, nullptr, false);
    if (!m.is_object()) return;
    const std::string type = field(m, "type");
    if (type == "message") return on_delivered(m);
    if (type == "ack") return on_ack(m);
    if (type == "welcome")
      return void(c.send(nlohmann::json{{"type", "join"}, {"room", room(users_[u].room)}}.dump()));
    if (type == "joined" && !users_[u].joined && !users_[u].failed) {
      users_[u].joined = true;
      ++joined_;
      ++rooms_[users_[u].room].joined;
      return;
    }
    if (type == "error") {
      count_error(field(m, "code", "?"));
      if (!users_[u].joined) fail(u);  // a refused hello or join: this user is out
    }
  }

  // The text starts with the send time: "t=<ns> ...". Others' messages are not ours to time,
  // nor is a stamp from the future (someone else's text that looks like ours).
  void on_delivered(const nlohmann::json& m) {
    const std::string text = field(m, "text");
    if (text.rfind("t=", 0) != 0) return;
    std::uint64_t sent_at = 0;
    const auto r = std::from_chars(text.data() + 2, text.data() + text.size(), sent_at);
    const std::uint64_t now = now_ns();
    if (r.ec != std::errc() || sent_at > now) return;
    ++delivered_;
    if (sent_at < window_start_ || sent_at >= window_end_) return;
    ++delivered_window_;
    latency_.record(now - sent_at);
  }

  void on_ack(const nlohmann::json& m) {
    ++acked_;
    const std::string cid = field(m, "cid");
    // The cid is "<prefix>-<room>-<window>-<user>-<seq>": the room and whether it was timed.
    const auto a = cid.find('-', cfg_.prefix.size());
    if (a == std::string::npos) return;
    unsigned r = 0;
    const auto res = std::from_chars(cid.data() + a + 1, cid.data() + cid.size(), r);
    if (res.ec != std::errc() || r >= rooms_.size()) return;
    ++rooms_[r].acked;
    if (res.ptr + 2 <= cid.data() + cid.size() && res.ptr[1] == 'w') ++rooms_[r].acked_window;
  }

  // The window's edges go to stderr as they pass, for a caller that reads the servers' own
  // counters over the same window (bench/cluster).
  void sending(std::uint64_t now) {
    if (now >= window_end_) {
      phase_ = phase::draining;
      drain_end_ = now + ns(cfg_.drain);
      if (cfg_.mark_window) std::fprintf(stderr, "window end\n");
      return;
    }
    if (now >= window_start_ && !marked_) {
      marked_ = true;
      if (cfg_.mark_window) std::fprintf(stderr, "window start\n");
    }
    owed_ += cfg_.rate * static_cast<double>(now - send_from_) / 1e9;
    send_from_ = now;
    std::uniform_int_distribution<unsigned> pick(0, cfg_.users - 1);
    for (unsigned tries = 0; owed_ >= 1 && tries < 4 * cfg_.users; ++tries) {
      const unsigned u = pick(rng_);
      if (users_[u].joined && !users_[u].failed) say(u, now), owed_ -= 1;
    }
  }

  void say(unsigned u, std::uint64_t now) {
    user& x = users_[u];
    const bool timed = now >= window_start_;
    std::string text = "t=" + std::to_string(now) + " ";
    text.resize(std::max(cfg_.size, text.size()), 'x');
    const std::string cid = cfg_.prefix + "-" + std::to_string(x.room) + (timed ? "-w-" : "-n-") +
                            std::to_string(u) + "-" + std::to_string(++x.seq);
    x.ws->send(nlohmann::json{{"type", "say"}, {"room", room(x.room)}, {"text", text}, {"cid", cid}}
                   .dump());
    ++sent_;
    if (timed) ++sent_window_, expected_window_ += rooms_[x.room].joined;
  }

  void close_all(std::uint64_t now) {
    phase_ = phase::closing;
    close_end_ = now + ns(2);
    for (auto& x : users_)
      if (x.ws && x.ws->is_open()) x.ws->close();
  }

  nlohmann::json report() const;

  const chat_config& cfg_;
  const chat_plan plan_;
  net::event_loop loop_;
  std::vector<user> users_;
  std::vector<room_stats> rooms_;
  std::mt19937 rng_{12345};
  phase phase_ = phase::opening;
  bool marked_ = false;  // the window's start was passed
  unsigned next_ = 0, joined_ = 0, failed_ = 0, open_ = 0, lost_ = 0;
  std::uint64_t started_ = 0, opened_ = 0, send_from_ = 0, window_start_ = 0, window_end_ = 0;
  std::uint64_t drain_end_ = 0, close_end_ = 0;
  double owed_ = 0;
  std::uint64_t sent_ = 0, sent_window_ = 0, acked_ = 0, delivered_ = 0;
  std::uint64_t delivered_window_ = 0, expected_window_ = 0;
  histogram latency_;
  std::map<std::string, std::uint64_t> errors_;
  std::string error_;
};

nlohmann::json chat_run::report() const {
  if (!error_.empty()) throw std::runtime_error(error_);
  const double secs = cfg_.duration;
  const auto ms = [this](double q) { return static_cast<double>(latency_.quantile(q)) / 1e6; };
  nlohmann::json r{{"mode", "chat"},
                   {"users", cfg_.users},
                   {"rooms", cfg_.rooms},
                   {"nodes", cfg_.urls.size()},
                   {"room_sizes", plan_.room_sizes},
                   {"joined", joined_},
                   {"failed", failed_},
                   {"lost", lost_},
                   {"open_seconds", static_cast<double>(opened_ - started_) / 1e9},
                   {"seconds", secs},
                   {"sent", sent_},
                   {"acked", acked_},
                   {"delivered", delivered_},
                   {"sent_window", sent_window_},
                   {"expected_window", expected_window_},
                   {"delivered_window", delivered_window_},
                   {"sent_per_sec", static_cast<double>(sent_window_) / secs},
                   {"delivered_per_sec", static_cast<double>(delivered_window_) / secs},
                   {"latency_ms", {{"p50", ms(0.5)}, {"p99", ms(0.99)}, {"p99.9", ms(0.999)}}},
                   {"errors", errors_}};
  nlohmann::json nodes = nlohmann::json::array();
  for (unsigned n = 0; n < cfg_.urls.size(); ++n) {
    unsigned users = 0;
    std::vector<bool> served(cfg_.rooms, false);
    for (const auto& x : users_)
      if (x.node == n) ++users, served[x.room] = true;
    std::uint64_t acked = 0, acked_window = 0;
    unsigned rooms = 0;
    for (unsigned i = 0; i < cfg_.rooms; ++i)
      if (served[i]) ++rooms, acked += rooms_[i].acked, acked_window += rooms_[i].acked_window;
    nodes.push_back({{"url", cfg_.urls[n]},
                     {"users", users},
                     {"rooms", rooms},
                     {"room_messages", acked},
                     {"room_messages_window", acked_window}});
  }
  r["per_node"] = nodes;
  return r;
}

}  // namespace

nlohmann::json run_chat(const chat_config& cfg) {
  if (cfg.urls.empty()) throw std::runtime_error("chat needs at least one --url");
  chat_run run(cfg);
  return run.run();
}

}  // namespace duplex::bench
