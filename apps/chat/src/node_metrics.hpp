// What a duplex-chat node exports in /metrics: the server's connections, the hub's traffic,
// closes by code, signed-in sockets, uptime, and the state of its links to Redis and PostgreSQL.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "duplex/server/server.hpp"
#include "hub.hpp"
#include "metrics.hpp"

namespace duplex::chat {

// Read at each scrape; the objects must outlive the registry's scrapes.
void add_node_metrics(metrics::registry& m, const server& srv, const hub& h,
                      std::function<std::size_t()> signed_in_sockets);

// A link to a backing service, as `duplex_chat_<system>_up` (1 or 0) and
// `duplex_chat_<system>_reconnects_total`. `system`: "redis" or "postgresql".
struct link_probe {
  std::function<bool()> up;
  std::function<std::uint64_t()> reconnects;
};
void add_link_metrics(metrics::registry& m, std::string_view system, link_probe probe);

// One more WebSocket closed with `code`: codes outside 1000-1015 and 4000-4002 are the peer's
// choice and share the label "other", so that the series stay few.
void count_close(metrics::registry& m, std::uint16_t code);

}  // namespace duplex::chat
