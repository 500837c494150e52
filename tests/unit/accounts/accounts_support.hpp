// For the accounts tests: a temporary database file removed afterwards, a poster whose work the
// test thread runs when it chooses, and simple ASCII name rules standing in for the names module.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/accounts.hpp"

namespace duplex::chat::test {

class temp_db {
 public:
  temp_db() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("duplex-accounts-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db");
    remove();
  }
  ~temp_db() { remove(); }
  temp_db(const temp_db&) = delete;
  temp_db& operator=(const temp_db&) = delete;
  std::string path() const { return path_.string(); }

 private:
  void remove() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      std::filesystem::remove(path_.string() + suffix);
  }
  std::filesystem::path path_;
};

// Completions posted from workers wait here until the test thread runs them, as an event loop
// would; `thread_ids` records which threads posted.
class manual_loop {
 public:
  std::function<void(std::function<void()>)> poster() {
    return [this](std::function<void()> fn) {
      std::lock_guard lock(mutex_);
      posted_.push_back(std::move(fn));
      posters_.push_back(std::this_thread::get_id());
    };
  }
  // Runs what was posted so far, on this thread; returns how many.
  std::size_t run() {
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lock(mutex_);
      now.swap(posted_);
    }
    for (auto& fn : now)
      fn();
    return now.size();
  }
  std::vector<std::thread::id> posters() {
    std::lock_guard lock(mutex_);
    return posters_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::thread::id> posters_;
};

// Letters and digits only, 1 to 32; the key is lower case, and the skeleton also reads 0 as o
// and 1 as l, so that "b0b" looks like "bob" and "a1ice" like "alice".
inline std::optional<name_claim> ascii_names(std::string_view typed, std::string& problem) {
  if (typed.empty() || typed.size() > 32) {
    problem = "1 to 32 letters or digits";
    return std::nullopt;
  }
  name_claim c{std::string(typed), {}, {}};
  for (char ch : typed) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      problem = "letters and digits only";
      return std::nullopt;
    }
    c.key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  c.skeleton = c.key;
  for (auto& ch : c.skeleton) {
    if (ch == '0') ch = 'o';
    if (ch == '1') ch = 'l';
  }
  return c;
}

inline name_claim claim(std::string_view typed) {
  std::string problem;
  return *ascii_names(typed, problem);
}

}  // namespace duplex::chat::test
