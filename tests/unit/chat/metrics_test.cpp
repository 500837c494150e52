// The node's metrics: the text format of the registry, histograms, who may scrape, and the
// store wrapper that counts appends.
#include <gtest/gtest.h>

#include <stdexcept>

#include "src/address_ranges.hpp"
#include "src/metered_store.hpp"
#include "src/metrics.hpp"

namespace duplex::chat::test {
namespace {

TEST(Metrics, OwnedCountersAndReadValuesInTheTextFormat) {
  metrics::registry m;
  auto& sent = m.counter("x_sent_total", "Sent.");
  double open = 3;
  m.gauge_fn("x_open", "Open \\ now\nthere.", [&open] { return open; });
  ++sent;
  ++sent;
  open = 0.5;
  EXPECT_EQ(m.text(),
            "# HELP x_sent_total Sent.\n# TYPE x_sent_total counter\nx_sent_total 2\n"
            "# HELP x_open Open \\\\ now\\nthere.\n# TYPE x_open gauge\nx_open 0.5\n");
}

TEST(Metrics, ANameWithOtherLabelsIsAnotherSeriesOfOneFamily) {
  metrics::registry m;
  auto& a = m.counter("x_bytes_total", "Bytes.", {{"shard", "0"}});
  auto& b = m.counter("x_bytes_total", "Bytes.", {{"shard", "1"}});
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&a, &m.counter("x_bytes_total", "Bytes.", {{"shard", "0"}}));
  a += 5;
  b += 7;
  m.counter("x_bytes_total", "Bytes.", {{"shard", "a\"b\\c\nd"}});
  EXPECT_EQ(m.text(),
            "# HELP x_bytes_total Bytes.\n# TYPE x_bytes_total counter\n"
            "x_bytes_total{shard=\"0\"} 5\nx_bytes_total{shard=\"1\"} 7\n"
            "x_bytes_total{shard=\"a\\\"b\\\\c\\nd\"} 0\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  metrics::registry m;
  auto& h = m.histogram_of("x_seconds", "Time.", {0.25, 1}, {{"op", "append"}});
  EXPECT_NE(m.text().find("le=\"+Inf\"} 0\n"), std::string::npos);
  h.observe(0.125);
  h.observe(0.25);  // on a bound: counted in that bucket (le)
  h.observe(0.5);
  h.observe(20);
  EXPECT_EQ(m.text(),
            "# HELP x_seconds Time.\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{op=\"append\",le=\"0.25\"} 2\n"
            "x_seconds_bucket{op=\"append\",le=\"1\"} 3\n"
            "x_seconds_bucket{op=\"append\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{op=\"append\"} 20.875\nx_seconds_count{op=\"append\"} 4\n");
}

TEST(Metrics, NumbersAreWrittenPlainly) {
  metrics::registry m;
  m.counter("x_total", "h") = 3'000'000;
  m.gauge_fn("x_small", "h", [] { return 0.0005; });
  m.gauge_fn("x_neg", "h", [] { return -2.5; });
  const auto text = m.text();
  EXPECT_NE(text.find("x_total 3000000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_small 0.0005\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_neg -2.5\n"), std::string::npos) << text;
}

TEST(Metrics, NamesPrometheusRefusesAreProgrammingErrors) {
  metrics::registry m;
  EXPECT_THROW(m.counter("1x", "h"), std::logic_error);
  EXPECT_THROW(m.counter("x-y", "h"), std::logic_error);
  EXPECT_THROW(m.counter("x", "h", {{"le", "1"}}), std::logic_error);
  EXPECT_THROW(m.counter("x", "h", {{"__x", "1"}}), std::logic_error);
  m.counter("x_total", "h");
  EXPECT_THROW(m.gauge_fn("x_total", "h", [] { return 1.0; }), std::logic_error);
  EXPECT_THROW(metrics::histogram({1, 0.5}), std::logic_error);
}

TEST(AddressRanges, LoopbackOnlyByDefault) {
  const auto r = address_ranges::loopback();
  EXPECT_TRUE(r.contains("127.0.0.1:4000"));
  EXPECT_TRUE(r.contains("127.8.9.10:1"));
  EXPECT_TRUE(r.contains("[::1]:4000"));
  EXPECT_TRUE(r.contains("[::ffff:127.0.0.1]:4000"));  // IPv4-mapped
  EXPECT_FALSE(r.contains("128.0.0.1:4000"));
  EXPECT_FALSE(r.contains("[::2]:4000"));
  EXPECT_FALSE(r.contains("10.0.0.1:4000"));
  EXPECT_FALSE(r.contains("unix:/tmp/s"));
  EXPECT_FALSE(r.contains(""));
  EXPECT_FALSE(r.contains("?"));
}

TEST(AddressRanges, RangesAndSingleAddresses) {
  address_ranges r;
  r.add("10.1.0.0/16");
  r.add("192.0.2.7");
  r.add("fd00::/8");
  r.add("0.0.0.0/0");  // every IPv4 address
  EXPECT_TRUE(r.contains("10.1.255.3:1"));
  EXPECT_TRUE(r.contains("192.0.2.7:80"));
  EXPECT_TRUE(r.contains("[fdab::1]:80"));
  EXPECT_TRUE(r.contains("203.0.113.9:80"));
  EXPECT_FALSE(r.contains("[fe80::1]:80"));
  address_ranges narrow;
  narrow.add("10.1.2.0/23");
  EXPECT_TRUE(narrow.contains("10.1.3.4"));
  EXPECT_FALSE(narrow.contains("10.1.4.4"));
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "example.com",
                          "10.0.0.0/-1", "1.2.3.4.5"})
    EXPECT_THROW(narrow.add(bad), std::invalid_argument) << bad;
}

// Answers appends later, when told, ok or not, and reports what a real store reports.
class held_store final : public store {
 public:
  void last_id(std::string_view, std::function<void(bool, std::int64_t)> done) override {
    done(true, 42);
  }
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override {
    held.push_back([this, m, done](bool ok) {
      if (ok) report_message(m);
      done(ok, ok ? 7 : 0);
    });
  }
  void before(std::string_view, std::int64_t, std::size_t, read_done done) override {
    done(true, {});
  }
  void range(std::string_view, std::int64_t, std::int64_t, std::size_t, read_done done) override {
    done(true, {});
  }
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override { done(true, {}); }
  void resync() { report_resync(); }
  // What a sharded bus adds: calls that must reach it, reports that must come back.
  void typing(const std::string& room, const std::string& nick, const std::string&) override {
    calls.push_back("typing " + room + " " + nick);
  }
  void watch_user(const std::string& user, bool on) override {
    calls.push_back("watch " + user + (on ? " on" : " off"));
  }
  void remote_typing() { report_typing("lobby", "ann", "ann"); }
  void resync_some() {
    report_resync_feeds([](const std::string& feed) { return feed == "lobby"; });
  }
  std::vector<std::function<void(bool)>> held;
  std::vector<std::string> calls;
};

struct recorder final : store_listener {
  void on_message(const stored_message& m) override { messages.push_back(m.text); }
  void on_resync() override { ++resyncs; }
  void on_presence(const std::string&, const std::string&, bool) override {}
  void on_resync_feeds(const std::function<bool(const std::string&)>& pick) override {
    partial += pick("lobby") && !pick("other") ? 1 : 100;
  }
  void on_remote_typing(const std::string& room, const std::string& nick,
                        const std::string&) override {
    typed.push_back(room + " " + nick);
  }
  std::vector<std::string> messages;
  std::vector<std::string> typed;
  int resyncs = 0;
  int partial = 0;
};

TEST(MeteredStore, CountsAppendsByAnswerAndTimesThem) {
  metrics::registry m;
  held_store inner;
  metered_store s(inner, m);
  recorder rec;
  s.set_listener(&rec);
  std::vector<append_result> answers;
  for (int i = 0; i < 3; ++i)
    s.append_once({"lobby", 0, "a", "t" + std::to_string(i)},
                  [&answers](append_result r) { answers.push_back(r); });
  ASSERT_EQ(inner.held.size(), 3u);
  EXPECT_EQ(m.counter("duplex_chat_store_appends_total", "", {{"result", "ok"}}), 0u);
  inner.held[0](true);
  inner.held[1](false);
  inner.held[2](true);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_TRUE(answers[0].ok && answers[0].id == 7);
  EXPECT_FALSE(answers[1].ok);
  EXPECT_EQ(m.counter("duplex_chat_store_appends_total", "", {{"result", "ok"}}), 2u);
  EXPECT_EQ(m.counter("duplex_chat_store_appends_total", "", {{"result", "failed"}}), 1u);
  EXPECT_EQ(m.histogram_of("duplex_chat_store_append_seconds", "", {}).count(), 3u);
  // What the inner store reports reaches the wrapper's listener; reads pass through.
  EXPECT_EQ(rec.messages, (std::vector<std::string>{"t0", "t2"}));
  inner.resync();
  EXPECT_EQ(rec.resyncs, 1);
  std::int64_t last = 0;
  s.last_id("lobby", [&last](bool, std::int64_t id) { last = id; });
  EXPECT_EQ(last, 42);
}

// The wrapper sits between the hub and every backend: a virtual it does not pass on falls back
// to store's default and the feature is silently gone (typing and private messages of a sharded
// bus once were).
TEST(MeteredStore, PassesEverythingOn) {
  metrics::registry m;
  held_store inner;
  metered_store s(inner, m);
  recorder rec;
  s.set_listener(&rec);
  s.typing("lobby", "ann", "ann");
  s.watch_user("ann", true);
  s.watch_user("ann", false);
  EXPECT_EQ(inner.calls,
            (std::vector<std::string>{"typing lobby ann", "watch ann on", "watch ann off"}));
  inner.remote_typing();
  EXPECT_EQ(rec.typed, (std::vector<std::string>{"lobby ann"}));
  inner.resync_some();
  EXPECT_EQ(rec.partial, 1);
  EXPECT_EQ(rec.resyncs, 0);  // not turned into a whole resync
}

}  // namespace
}  // namespace duplex::chat::test
