// The operator's commands on accounts (`duplex-chat user add|passwd|role|ban|unban NAME`,
// `duplex-chat user list`), run
// against the database directly (the --db file, or PostgreSQL with --pg), also while servers use
// it. Each returns an exit code.
#pragma once

#include <iosfwd>
#include <string>

#include "account_api.hpp"
#include "account_db.hpp"
#include "passwords.hpp"

namespace CLI {
class App;
}

namespace duplex::chat {

struct cli_context {
  std::string db_path;
  name_rules names;
  hash_cost cost = hash_cost::interactive();
  password_rules passwords;
  std::istream* in = nullptr;  // the password, one line (twice when it is a terminal)
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool terminal = false;   // `in` is a terminal: prompt, without echo, and ask twice
  account_db_opener open;  // where the accounts are instead (PostgreSQL); empty: db_path
};

int user_add(const cli_context& c, const std::string& name, role r);
// Sets a new password and ends every session of the user.
int user_passwd(const cli_context& c, const std::string& name);
int user_role(const cli_context& c, const std::string& name, role r);
// A ban also ends every session; unban lets the user sign in again.
int user_ban(const cli_context& c, const std::string& name, bool banned);
// One line per user: id, name, role, "banned" when banned, live sessions.
int user_list(const cli_context& c);

// What `add_user_commands` parsed.
struct user_command {
  std::string action;  // "add", "passwd", "role", "ban", "unban", "list"; empty: none given
  std::string name;
  std::string role = "user";
};
// Adds the `user` subcommand and its actions to `app`.
void add_user_commands(CLI::App& app, user_command& cmd);
// Runs what was parsed (cmd.action not empty).
int run_user_command(const user_command& cmd, const cli_context& c);

}  // namespace duplex::chat
