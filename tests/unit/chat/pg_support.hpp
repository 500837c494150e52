// What the PostgreSQL tests share: the loop driver, link options for a test database, and the
// skip when the server's binaries are missing.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "duplex/net/event_loop.hpp"
#include "src/pg_link.hpp"
#include "support/pg_server.hpp"

// Binds `name` to the binary's shared cluster, or skips the test saying what is missing.
#define PG_OR_SKIP(name)                                         \
  ::duplex::test::pg_server* name = ::duplex::test::shared_pg(); \
  if (name == nullptr) GTEST_SKIP() << ::duplex::test::pg_server::missing

namespace duplex::test {

// Runs the loop until `done` holds or the time is up; returns whether it held.
inline bool run_until(net::event_loop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  bool timed_out = false;
  const auto deadline = loop.add_timer(limit, [&] {
    timed_out = true;
    loop.stop();
  });
  const auto poll = loop.add_timer(
      std::chrono::milliseconds(5),
      [&] {
        if (done()) loop.stop();
      },
      true);
  if (!done()) loop.run();
  loop.cancel_timer(deadline);
  loop.cancel_timer(poll);
  return !timed_out && done();
}

inline chat::pg_options pg_at(const pg_server& pg, const std::string& db) {
  chat::pg_options o;
  o.conninfo = pg.conninfo(db);
  o.min_backoff = std::chrono::milliseconds(20);
  o.max_backoff = std::chrono::milliseconds(200);
  return o;
}

}  // namespace duplex::test
