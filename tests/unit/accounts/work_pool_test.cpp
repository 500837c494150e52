// The worker pool: a full queue answers at once, and completions reach the loop by its poster.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "accounts/accounts_support.hpp"
#include "src/work_pool.hpp"

namespace duplex::chat {
namespace {

TEST(WorkPool, CompletionsArriveThroughThePosterNotOnTheWorker) {
  test::manual_loop loop;
  std::vector<int> results;
  std::thread::id worked_on;
  {
    work_pool pool(2, 8, loop.poster());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(pool.submit([i, &results, &worked_on] {
        worked_on = std::this_thread::get_id();
        return std::function<void()>([i, &results] { results.push_back(i * i); });
      }));
    }
    pool.drain();
    EXPECT_TRUE(results.empty());  // nothing runs on the loop until the loop runs it
    EXPECT_EQ(loop.run(), 5u);
  }
  std::sort(results.begin(), results.end());
  EXPECT_EQ(results, (std::vector<int>{0, 1, 4, 9, 16}));
  EXPECT_NE(worked_on, std::this_thread::get_id());
  for (auto id : loop.posters())
    EXPECT_NE(id, std::this_thread::get_id());
}

TEST(WorkPool, AFullQueueAnswersBusyAtOnce) {
  test::manual_loop loop;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> started{0};
  work_pool pool(1, 2, loop.poster());
  auto blocked = [&] {
    return [&, gate] {
      ++started;
      gate.wait();
      return std::function<void()>([] {});
    };
  };
  ASSERT_TRUE(pool.submit(blocked()));
  while (started == 0)
    std::this_thread::yield();  // the worker holds the first job
  EXPECT_TRUE(pool.submit(blocked()));
  EXPECT_TRUE(pool.submit(blocked()));
  EXPECT_EQ(pool.waiting(), 2u);
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.submit(blocked()));  // refused, not queued, not waited for
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  EXPECT_EQ(pool.waiting(), 2u);
  release.set_value();
  pool.drain();
  EXPECT_EQ(loop.run(), 3u);
  EXPECT_TRUE(pool.submit(blocked()));  // room again
  pool.drain();
}

TEST(WorkPool, AThrowingJobPostsNothingAndTheWorkerGoesOn) {
  test::manual_loop loop;
  work_pool pool(1, 4, loop.poster());
  ASSERT_TRUE(pool.submit([]() -> std::function<void()> { throw std::runtime_error("boom"); }));
  bool ran = false;
  ASSERT_TRUE(pool.submit([&] { return std::function<void()>([&] { ran = true; }); }));
  pool.drain();
  EXPECT_EQ(loop.run(), 1u);
  EXPECT_TRUE(ran);
}

TEST(WorkPool, JobsNotStartedAreDroppedAtDestruction) {
  test::manual_loop loop;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> started{0}, finished{0};
  std::thread opener;
  {
    work_pool pool(1, 10, loop.poster());
    for (int i = 0; i < 5; ++i) {
      pool.submit([&, gate] {
        ++started;
        gate.wait();
        ++finished;
        return std::function<void()>([] {});
      });
    }
    while (started == 0)
      std::this_thread::yield();
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      release.set_value();
    });
  }  // waits for the running job only
  opener.join();
  EXPECT_EQ(started, 1);
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(loop.run(), 1u);
}

}  // namespace
}  // namespace duplex::chat
