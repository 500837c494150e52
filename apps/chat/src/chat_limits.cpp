#include "chat_limits.hpp"

#include <chrono>
#include <sstream>
#include <string>

namespace duplex::chat {
namespace {

// A sign-in rule as "BURST every SECONDS": two flags, the period in seconds.
void add_rule(CLI::App& app, const std::string& prefix, bucket_rule& rule, const char* what) {
  app.add_option("--" + prefix + "-burst", rule.burst,
                 std::string("sign-in attempts per ") + what + " in a burst")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str()
      ->group("Limits");
  // CLI11 binds no duration: the value, when given, in seconds.
  std::ostringstream shown;  // 60, 2.5: what a person would type, not 60.000000
  shown << std::chrono::duration<double>(rule.every).count();
  app.add_option_function<double>(
         "--" + prefix + "-every",
         [&rule](double seconds) {
           rule.every = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
         },
         std::string("seconds for one sign-in attempt per ") + what + " to come back (default " +
             shown.str() + ")")
      ->check(CLI::Range(0.001, 86400.0))
      ->group("Limits");
}

}  // namespace

void add_limit_flags(CLI::App& app, chat_limits& limits) {
  app.set_config("--config", "", "read options from a TOML file (KEY = VALUE, flag names)");
  hub_limits& h = limits.hub;
  auto size = [&](const char* name, std::size_t& field, const char* help, std::size_t max) {
    app.add_option(name, field, help)
        ->check(CLI::Range(std::size_t{1}, max))
        ->capture_default_str()
        ->group("Limits");
  };
  app.add_option("--rate", h.rate_per_second, "messages per second per user (tokens refilled)")
      ->check(CLI::Range(0.01, 1e6))
      ->capture_default_str()
      ->group("Limits");
  app.add_option("--burst", h.burst, "messages a user may send at once; a debt as deep closes")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str()
      ->group("Limits");
  size("--rooms-per-user", h.max_rooms_per_user, "rooms a user (or a guest) is in at once", 10'000);
  size("--owned-rooms", h.max_owned_rooms, "rooms a user may own", 10'000);
  size("--members-per-room", h.max_members_per_room, "members of one room", 1'000'000);
  size("--message-bytes", h.max_text_bytes, "bytes of text in one message", 65'536);
  size("--history-page", h.history_page, "messages in one history page", 10'000);
  size("--topic-bytes", h.max_topic_bytes, "bytes of a room's topic", 4'096);
  add_rule(app, "signin-account", limits.signin.account, "account");
  add_rule(app, "signin-address", limits.signin.address, "address");
}

}  // namespace duplex::chat
