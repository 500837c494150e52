// Files in PostgreSQL against a real server: content written in chunks comes back byte for byte,
// the bound on unposted uploads, who may claim an upload, the sweep, and a PostgreSQL that
// stops (every job answers `failed`, none hangs) and comes back (jobs work again, no restart).
#include "src/pg_files.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "src/pg_schema.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;

// The "loop" of these tests: completions queued by the workers, run by wait().
struct completions {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> q;
  work_pool::poster poster() {
    return [this](std::function<void()> fn) {
      std::lock_guard l(m);
      q.push_back(std::move(fn));
      cv.notify_one();
    };
  }
  // Runs one completion; false if none came within 10 s.
  bool run_one() {
    std::unique_lock l(m);
    if (!cv.wait_for(l, 10s, [&] { return !q.empty(); })) return false;
    auto fn = std::move(q.front());
    q.pop_front();
    l.unlock();
    fn();
    return true;
  }
};

struct pg_files_test : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
    // One worker: jobs run in the order given.
    store = std::make_unique<pg_file_store>(pg->conninfo(db), 1, 8, done.poster());
  }
  upload_record fresh(const std::string& uploader, const std::string& feed) {
    return {new_upload_id(), {}, uploader, feed, "a.bin", {}, 0, 0, 0, 1000, false};
  }
  file_status wait_status(bool queued, file_status& got) {
    EXPECT_TRUE(queued);
    EXPECT_TRUE(done.run_one());
    return got;
  }
  file_status begin(const upload_record& r, std::size_t max_unposted = 10) {
    file_status got = file_status::failed;
    return wait_status(store->begin(r, max_unposted, [&](file_status s) { got = s; }), got);
  }
  // The whole content in chunks of at most chunk_bytes, the last one with finish.
  file_status put(upload_record& r, const std::string& content) {
    int seq = 0;
    std::size_t at = 0;
    file_status got = file_status::failed;
    for (; content.size() - at > pg_file_store::chunk_bytes; at += pg_file_store::chunk_bytes) {
      const auto st =
          wait_status(store->write(r.id, seq++, content.substr(at, pg_file_store::chunk_bytes),
                                   [&](file_status s) { got = s; }),
                      got);
      if (st != file_status::ok) return st;
    }
    r.size = static_cast<std::int64_t>(content.size());
    r.sha256 = "feed";
    r.mime = "application/octet-stream";
    return wait_status(store->finish(r, seq, content.substr(at), [&](file_status s) { got = s; }),
                       got);
  }
  std::pair<file_status, std::string> read(const upload_record& r) {
    std::pair<file_status, std::string> got{file_status::failed, "unset"};
    EXPECT_TRUE(store->read(r.id, r.size, [&](file_status s, std::string b) {
      got = {s, std::move(b)};
    }));
    EXPECT_TRUE(done.run_one());
    return got;
  }
  std::pair<file_status, std::optional<upload_record>> find(const std::string& id) {
    std::pair<file_status, std::optional<upload_record>> got{file_status::failed, std::nullopt};
    EXPECT_TRUE(store->find(id, [&](file_status s, std::optional<upload_record> r) {
      got = {s, std::move(r)};
    }));
    EXPECT_TRUE(done.run_one());
    return got;
  }

  test::pg_server* pg = nullptr;
  std::string db;
  completions done;
  std::unique_ptr<pg_file_store> store;
};

TEST_F(pg_files_test, ContentComesBackByteForByteAcrossChunks) {
  std::string content(pg_file_store::chunk_bytes * 2 + 12345, '\0');
  for (std::size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>((i * 131) % 256);  // every byte value, zeros included
  auto r = fresh("ann", "lobby");
  ASSERT_EQ(begin(r), file_status::ok);
  EXPECT_FALSE(find(r.id).second) << "an incomplete upload is no file yet";
  ASSERT_EQ(put(r, content), file_status::ok);
  const auto found = find(r.id);
  ASSERT_EQ(found.first, file_status::ok);
  ASSERT_TRUE(found.second);
  EXPECT_EQ(found.second->size, static_cast<std::int64_t>(content.size()));
  EXPECT_FALSE(found.second->posted);
  const auto [st, body] = read(*found.second);
  EXPECT_EQ(st, file_status::ok);
  EXPECT_TRUE(body == content) << "read " << body.size() << " bytes";
  auto empty = fresh("ann", "lobby");
  ASSERT_EQ(begin(empty), file_status::ok);
  ASSERT_EQ(put(empty, ""), file_status::ok);
  EXPECT_EQ(read(empty), std::pair(file_status::ok, std::string()));
}

TEST_F(pg_files_test, UnpostedUploadsAreBoundedAndOnlyTheUploaderClaims) {
  auto first = fresh("ann", "lobby");
  ASSERT_EQ(begin(first, 1), file_status::ok);
  ASSERT_EQ(put(first, "hello"), file_status::ok);
  EXPECT_EQ(begin(fresh("ann", "lobby"), 1), file_status::refused);
  EXPECT_EQ(begin(fresh("bob", "lobby"), 1), file_status::ok) << "the bound is per uploader";
  EXPECT_FALSE(store->claim(first.id, "bob", "lobby")) << "not bob's";
  EXPECT_FALSE(store->claim(first.id, "ann", "elsewhere")) << "not for that feed";
  const auto claimed = store->claim(first.id, "ann", "lobby");
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->posted);
  EXPECT_TRUE(store->claim(first.id, "ann", "lobby")) << "a resend claims it again";
  EXPECT_EQ(begin(fresh("ann", "lobby"), 1), file_status::ok) << "posted: no longer counted";
}

TEST_F(pg_files_test, SweepForgetsOldUnpostedAndIncompleteUploads) {
  auto posted = fresh("ann", "lobby");
  auto unposted = fresh("ann", "lobby");
  auto incomplete = fresh("ann", "lobby");
  incomplete.created_ms = 5000;
  for (auto* r : {&posted, &unposted, &incomplete})
    ASSERT_EQ(begin(*r), file_status::ok);
  ASSERT_EQ(put(posted, "p"), file_status::ok);
  ASSERT_EQ(put(unposted, "u"), file_status::ok);
  ASSERT_TRUE(store->claim(posted.id, "ann", "lobby"));
  store->sweep(1001, 6000);  // the next job runs after it
  EXPECT_TRUE(find(posted.id).second);
  EXPECT_FALSE(find(unposted.id).second);
  pg->exec("DO $$ BEGIN IF EXISTS (SELECT 1 FROM uploads WHERE id = '" + incomplete.id +
               "') THEN RAISE 'incomplete upload kept'; END IF; END $$",
           db);
}

TEST_F(pg_files_test, APostgresqlThatStopsFailsJobsAndOneThatReturnsServesThem) {
  auto r = fresh("ann", "lobby");
  ASSERT_EQ(begin(r), file_status::ok);
  ASSERT_EQ(put(r, std::string(300'000, 'x')), file_status::ok);
  pg->stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(find(r.id).first, file_status::failed);
  EXPECT_EQ(begin(fresh("ann", "lobby")), file_status::failed);
  EXPECT_THROW(store->claim(r.id, "ann", "lobby"), pg_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << "failures come at once, no wait";
  pg->start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::pair<file_status, std::string> got;
  do {
    std::this_thread::sleep_for(100ms);
    got = read(r);
  } while (got.first != file_status::ok && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(got, std::pair(file_status::ok, std::string(300'000, 'x')));
  EXPECT_EQ(begin(fresh("ann", "lobby")), file_status::ok);
}

}  // namespace
}  // namespace duplex::chat
