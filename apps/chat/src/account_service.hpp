// Accounts and sessions for an event loop: sign-up, sign-in, password change and sign-out run
// their Argon2id hashing and their writes on worker threads (bounded queues: a full one answers
// "busy" at once) and post each answer back; a session lookup is one indexed read on the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "account_db.hpp"
#include "accounts.hpp"
#include "passwords.hpp"
#include "sessions.hpp"
#include "signin_limiter.hpp"
#include "work_pool.hpp"

namespace duplex::chat {

struct account_config {
  std::string db_path;  // the chat's own SQLite file: the schema is upgraded in place
  // Where the accounts are instead (PostgreSQL with --pg: pg_accounts.hpp); empty: db_path.
  account_db_opener open;
  hash_cost cost = hash_cost::interactive();
  password_rules passwords;
  session_limits sessions;
  signin_limits signin;
  std::size_t hash_threads = 2;        // each hash holds `cost.mem` (64 MiB by default)
  std::size_t max_queued_hashes = 32;  // beyond: "busy" (about 16 hashing times of waiting)
  std::size_t max_queued_writes = 1'000;
  // A loop read waits this long at most for SQLite's lock (WAL readers rarely wait at all).
  std::chrono::milliseconds loop_busy_timeout{200};
  std::function<std::int64_t()> clock;  // ms since the epoch; the system clock when empty
};

enum class status {
  ok,
  busy,              // the queue of work is full: try again in a moment
  rate_limited,      // too many attempts: retry_after says when
  invalid_password,  // a new password breaks the rules: `problem` says which
  name_taken,
  name_look_alike,  // another account's name looks the same (same skeleton)
  bad_credentials,  // unknown name or wrong password (one answer for both)
  banned,
  not_found,
  store_failed,  // the database could not be read or written (logged)
};
std::string_view to_string(status s) noexcept;

struct client_info {
  std::string peer;        // "1.2.3.4:5678" or "[v6]:port", as the server gives it
  std::string user_agent;  // the request's User-Agent, any bytes (cleaned before storing)
};

struct auth_result {
  status what = status::ok;
  password_problem problem = password_problem::none;
  std::chrono::milliseconds retry_after{0};
  std::optional<user> who;
  std::optional<new_session> session;  // with ok from register_user and sign_in
  std::size_t revoked = 0;             // with ok from change_password and revoke_others
};

// What a token presented on the loop names: `failed` only when the database could not answer.
struct lookup {
  bool failed = false;
  std::optional<signed_in> session;
};

class account_service {
 public:
  using done_fn = std::function<void(auth_result)>;

  // Opens two connections (one for the loop, one for the workers) and upgrades the schema.
  // Throws when the database cannot be opened or is newer than this program.
  account_service(account_config config, work_pool::poster post);
  ~account_service();
  account_service(const account_service&) = delete;
  account_service& operator=(const account_service&) = delete;

  // Call these on the loop. `done` runs on the loop: through `post` once the work is done, or
  // before the call returns when the answer needs no work (busy, rate_limited, a bad password).
  void register_user(const name_claim& name, std::string password, const client_info& client,
                     done_fn done);
  void sign_in(std::string_view name_key, std::string password, const client_info& client,
               done_fn done);
  // Checks `current`, sets `next`, and ends every other session of the user.
  void change_password(const signed_in& who, std::string current, std::string next,
                       const client_info& client, done_fn done);
  void sign_out(const signed_in& who, done_fn done);
  void revoke(const signed_in& who, std::int64_t session_id, done_fn done);
  void revoke_others(const signed_in& who, done_fn done);
  // Sets (or, with nullopt, clears) the user's display name; `who` in the answer is the user
  // as now stored. name_taken / name_look_alike as for a registration.
  void set_display(const signed_in& who, std::optional<name_claim> display, done_fn done);
  // Deletes expired sessions: call now and then (a timer), it runs on the writer.
  void purge_expired();

  // On the loop, synchronous: one read by primary key (and one of the user by id). Writes
  // last-seen in the background at most once per session_limits::touch_every.
  lookup authenticate(std::string_view token);
  // On the loop: whether a session still exists. When the database cannot say: false, so that
  // a socket whose session may have ended is closed rather than kept, unless
  // `keep_when_unknown` (a sweep of every socket against a shared database that just became
  // unreachable would otherwise close every signed-in socket; the reconnection sweeps again).
  bool session_alive(std::int64_t session_id, bool keep_when_unknown = false);
  // On the loop: whether another connection (the operator's `duplex-chat user` command, this
  // process's own writer, another node) committed a change that may end sessions since the last
  // call. With SQLite, true when the file cannot say, so that the caller checks rather than
  // trusts; PostgreSQL says so on its reconnection instead (pg_accounts.hpp).
  bool changed_elsewhere();
  // The same, with the sessions that ended when the database knows them (PostgreSQL's
  // notifications): the caller then closes those without reading every open session.
  account_db::session_changes changes_elsewhere();
  // On the loop: whether a registered user's sign-in or display name has this key or this
  // look-alike key (a guest may not take it). True when the database cannot say: refusing a guest
  // is safe.
  bool name_registered(std::string_view key, std::string_view skeleton);
  // The shown name of the registered, unbanned user with this sign-in key (user::key).
  std::optional<std::string> shown_name(std::string_view key);
  // The sign-in key of the registered, unbanned user whose shown name has this key.
  std::optional<std::string> key_of_shown(std::string_view shown_key);
  // The user's live sessions; nullopt when the database could not be read.
  std::optional<std::vector<session_info>> sessions(std::int64_t user_id);

  const account_config& config() const noexcept { return config_; }
  // Blocks until the workers are idle (tests and one-shot commands; never on the loop).
  void drain();

 private:
  struct shared;  // what completions posted to the loop may still use
  std::int64_t now_ms() const;
  bool run_write(std::function<auth_result(account_db&)> work, done_fn done);
  auth_result finish_sign_in(std::optional<user> who, std::string hash, std::string password,
                             const client_info& client);
  std::function<void()> hashed(auth_result r, std::string account, std::string address,
                               done_fn done);

  account_config config_;
  std::unique_ptr<account_db> work_db_;  // opened first: it upgrades the schema
  std::unique_ptr<account_db> loop_db_;
  std::mutex work_mutex_;  // work_db_ is shared by the hashing threads and the writer
  std::shared_ptr<shared> shared_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // verified against for an unknown name: the same time as a real one
  // Last: the workers stop before what they use is destroyed.
  work_pool hashers_;
  work_pool writer_;
};

}  // namespace duplex::chat
