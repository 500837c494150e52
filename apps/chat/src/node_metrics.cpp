#include "node_metrics.hpp"

#include <chrono>
#include <string>

namespace duplex::chat {

void add_node_metrics(metrics::registry& m, const server& srv, const hub& h,
                      std::function<std::size_t()> signed_in_sockets) {
  const auto started = std::chrono::steady_clock::now();
  m.gauge_fn("duplex_chat_uptime_seconds", "Seconds since this node started.", [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  });
  auto gauge = [&m](const char* name, const char* help, std::function<double()> read) {
    m.gauge_fn(name, help, std::move(read));
  };
  gauge("duplex_chat_connections", "Open connections (HTTP and WebSocket).",
        [&srv] { return static_cast<double>(srv.connection_count()); });
  gauge("duplex_chat_clients", "Chat clients attached to the hub.",
        [&h] { return static_cast<double>(h.clients()); });
  gauge("duplex_chat_signed_in_sockets", "WebSockets of signed-in sessions (not guests).",
        [read = std::move(signed_in_sockets)] { return static_cast<double>(read()); });
  gauge("duplex_chat_rooms", "Rooms held in memory (with a member here or store work under way).",
        [&h] { return static_cast<double>(h.rooms()); });
  auto counter = [&m, &h](const char* name, const char* help, std::uint64_t hub_counters::*field) {
    m.counter_fn(name, help, [&h, field] { return static_cast<double>(h.counters().*field); });
  };
  counter("duplex_chat_messages_in_total", "Protocol messages received.",
          &hub_counters::messages_in);
  counter("duplex_chat_messages_out_total",
          "Protocol messages delivered (a message to a room counts once per recipient).",
          &hub_counters::messages_out);
  counter("duplex_chat_bytes_in_total", "Bytes of protocol messages received.",
          &hub_counters::bytes_in);
  counter("duplex_chat_bytes_out_total", "Bytes of protocol messages sent.",
          &hub_counters::bytes_out);
  counter("duplex_chat_dropped_total", "Messages dropped for slow readers.",
          &hub_counters::dropped);
  counter("duplex_chat_rate_limited_total", "Requests refused by the rate limit.",
          &hub_counters::rate_limited);
  counter("duplex_chat_errors_total", "Error replies sent.", &hub_counters::errors);
  m.counter_fn("duplex_chat_exceptions_total",
               "Exceptions caught on the event loop (each closed its connection with 1011 or 500).",
               [&srv] { return static_cast<double>(srv.exception_count()); });
}

void add_link_metrics(metrics::registry& m, std::string_view system, link_probe probe) {
  const std::string prefix = "duplex_chat_" + std::string(system);
  m.gauge_fn(prefix + "_up",
             "1 while this node's connections to " + std::string(system) + " are up.",
             [up = std::move(probe.up)] { return up() ? 1.0 : 0.0; });
  m.counter_fn(prefix + "_reconnects_total",
               "Connections to " + std::string(system) + " made again after a loss.",
               [n = std::move(probe.reconnects)] { return static_cast<double>(n()); });
}

void count_close(metrics::registry& m, std::uint16_t code) {
  const bool known = (code >= 1000 && code <= 1015) || (code >= 4000 && code <= 4002);
  ++m.counter("duplex_chat_closes_total", "WebSocket closes by code.",
              {{"code", known ? std::to_string(code) : "other"}});
}

}  // namespace duplex::chat
