#include "user_cli.hpp"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "sqlite_account_db.hpp"

namespace duplex::chat {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Echo off while a password is typed at a terminal; restored on every path.
class no_echo {
 public:
  explicit no_echo(bool on) : on_(on && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (!on_) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  ~no_echo() {
    if (on_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  no_echo(const no_echo&) = delete;
  no_echo& operator=(const no_echo&) = delete;

 private:
  bool on_;
  termios saved_{};
};

std::optional<std::string> read_line(const cli_context& c, const char* prompt) {
  if (c.terminal) *c.err << prompt << std::flush;
  std::string line;
  {
    no_echo quiet(c.terminal);
    if (!std::getline(*c.in, line)) return std::nullopt;
  }
  if (c.terminal) *c.err << "\n";
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// A new password that meets the rules, prepared for hashing; nullopt after saying why not.
std::optional<std::string> new_password(const cli_context& c, const std::string& name) {
  auto first = read_line(c, "new password: ");
  if (!first) {
    *c.err << "no password given (one line on standard input)\n";
    return std::nullopt;
  }
  if (c.terminal) {
    auto again = read_line(c, "again: ");
    if (!again || *again != *first) {
      *c.err << "the two passwords differ\n";
      return std::nullopt;
    }
  }
  std::string prepared;
  const auto problem = prepare_password(*first, c.passwords, name, prepared);
  sodium_memzero(first->data(), first->size());
  if (problem != password_problem::none) {
    *c.err << describe(problem) << " (at least " << c.passwords.min_chars << " characters, at most "
           << c.passwords.max_bytes << " bytes)\n";
    return std::nullopt;
  }
  return prepared;
}

// Only `user add` may start a SQLite file (an admin before the first start); every other
// command names a user who must exist, and a mistyped --db must not leave an empty file behind.
std::unique_ptr<account_db> open_db(const cli_context& c, bool may_create) {
  if (c.open) return c.open(account_db_use::command);
  std::error_code ec;
  if (!may_create && !std::filesystem::exists(c.db_path, ec))
    throw std::runtime_error("no chat database at " + c.db_path + " (give its --db FILE)");
  return std::make_unique<sqlite_account_db>(c.db_path, std::chrono::seconds(5), session_limits{},
                                             true);
}

// The user a typed name names, or nullopt after saying so.
std::optional<user> find_user(const cli_context& c, account_db& db, const std::string& name) {
  std::string problem;
  const auto claim = c.names(name, problem);
  std::optional<user> u;
  if (claim) u = db.by_key(claim->key);
  if (!u) *c.err << "no user named '" << name << "'\n";
  return u;
}

// Runs `body`, turning an exception (an unreadable file, a newer schema) into exit code 1.
template <class Body>
int guarded(const cli_context& c, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    *c.err << "duplex-chat: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int user_add(const cli_context& c, const std::string& name, role r) {
  return guarded(c, [&] {
    std::string problem;
    const auto claim = c.names(name, problem);
    if (!claim) {
      *c.err << "invalid name: " << problem << "\n";
      return 1;
    }
    const auto db = open_db(c, true);
    if (db->check_name(*claim) != create_result::created) {
      *c.err << "the name '" << name << "' is taken, or looks like one that is\n";
      return 1;
    }
    auto prepared = new_password(c, claim->display);
    if (!prepared) return 1;
    const auto hash = hash_password(*prepared, c.cost);
    sodium_memzero(prepared->data(), prepared->size());
    if (!hash) throw std::runtime_error("not enough memory to hash the password");
    std::int64_t id = 0;
    if (db->create_user(*claim, *hash, r, now_ms(), &id) != create_result::created) {
      *c.err << "the name '" << name << "' was taken meanwhile\n";
      return 1;
    }
    *c.out << "user '" << claim->display << "' added (id " << id << ", " << to_string(r) << ")\n";
    return 0;
  });
}

int user_passwd(const cli_context& c, const std::string& name) {
  return guarded(c, [&] {
    const auto db = open_db(c, false);
    const auto u = find_user(c, *db, name);
    if (!u) return 1;
    auto prepared = new_password(c, u->name);
    if (!prepared) return 1;
    const auto hash = hash_password(*prepared, c.cost);
    sodium_memzero(prepared->data(), prepared->size());
    if (!hash) throw std::runtime_error("not enough memory to hash the password");
    const auto ended = db->set_password(u->id, *hash, now_ms(), 0).value_or(0);
    *c.out << "password of '" << u->name << "' changed; " << ended << " session(s) ended\n";
    return 0;
  });
}

int user_role(const cli_context& c, const std::string& name, role r) {
  return guarded(c, [&] {
    const auto db = open_db(c, false);
    const auto u = find_user(c, *db, name);
    if (!u) return 1;
    db->set_role(u->id, r);
    *c.out << "'" << u->name << "' is now " << to_string(r) << "\n";
    return 0;
  });
}

int user_ban(const cli_context& c, const std::string& name, bool banned) {
  return guarded(c, [&] {
    const auto db = open_db(c, false);
    const auto u = find_user(c, *db, name);
    if (!u) return 1;
    const auto ended = db->set_banned(u->id, banned).value_or(0);
    *c.out << "'" << u->name << "' is " << (banned ? "banned" : "no longer banned");
    if (banned) *c.out << "; " << ended << " session(s) ended";
    *c.out << "\n";
    return 0;
  });
}

int user_list(const cli_context& c) {
  return guarded(c, [&] {
    const auto users = open_db(c, false)->list_users();
    for (const auto& u : users)
      *c.out << u.id << "\t" << u.name << "\t" << to_string(u.role) << (u.banned ? "\tbanned" : "")
             << "\t" << u.sessions << " session(s)\n";
    *c.out << users.size() << " user(s)\n";
    return 0;
  });
}

void add_user_commands(CLI::App& app, user_command& cmd) {
  auto* user = app.add_subcommand(
      "user", "manage accounts in the --db file, or PostgreSQL with --pg (also while serving)");
  user->require_subcommand(1);
  user->fallthrough();  // `user add NAME --db FILE`: the app's own options after the command
  auto action = [&cmd, user](const char* name, const char* help) {
    auto* sub = user->add_subcommand(name, help);
    sub->fallthrough();
    sub->add_option("name", cmd.name, "the user's name")->required();
    sub->callback([&cmd, name] { cmd.action = name; });
    return sub;
  };
  auto* add = action("add", "register a user; the password is read from standard input");
  add->add_option("--role", cmd.role, "user or admin")
      ->check(CLI::IsMember({"user", "admin"}))
      ->capture_default_str();
  action("passwd", "set a user's password (from standard input) and end their sessions");
  action("role", "make a user an admin or a user")
      ->add_option("role", cmd.role, "user or admin")
      ->required()
      ->check(CLI::IsMember({"user", "admin"}));
  action("ban", "ban a user and end their sessions");
  action("unban", "let a banned user sign in again");
  user->add_subcommand("list", "list the users, their roles, bans and sessions")
      ->fallthrough()
      ->callback([&cmd] { cmd.action = "list"; });
}

int run_user_command(const user_command& cmd, const cli_context& c) {
  const role r = parse_role(cmd.role).value_or(role::user);
  if (cmd.action == "add") return user_add(c, cmd.name, r);
  if (cmd.action == "passwd") return user_passwd(c, cmd.name);
  if (cmd.action == "role") return user_role(c, cmd.name, r);
  if (cmd.action == "list") return user_list(c);
  if (cmd.action == "ban" || cmd.action == "unban")
    return user_ban(c, cmd.name, cmd.action == "ban");
  *c.err << "unknown user command '" << cmd.action << "'\n";
  return 2;
}

}  // namespace duplex::chat
