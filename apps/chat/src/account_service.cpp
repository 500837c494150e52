#include "account_service.hpp"

#include <sodium.h>

#include <cstdio>

#include "client_address.hpp"
#include "sqlite_account_db.hpp"

namespace duplex::chat {
namespace {

constexpr std::chrono::milliseconds busy_retry{1000};

auth_result answer(status s) {
  auth_result r;
  r.what = s;
  if (s == status::busy) r.retry_after = busy_retry;
  return r;
}

void log_failure(const char* what, const std::exception& e) {
  std::fprintf(stderr, "duplex-chat: accounts: %s failed: %s\n", what, e.what());
}

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

}  // namespace

// Completions can run after the call that queued them; they reach the limiter through this.
struct account_service::shared {
  explicit shared(const signin_limits& l) : limiter(l) {}
  signin_limiter limiter;  // loop thread only
};

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::ok:
      return "ok";
    case status::busy:
      return "busy";
    case status::rate_limited:
      return "rate_limited";
    case status::invalid_password:
      return "invalid_password";
    case status::name_taken:
      return "name_taken";
    case status::name_look_alike:
      return "name_look_alike";
    case status::bad_credentials:
      return "bad_credentials";
    case status::banned:
      return "banned";
    case status::not_found:
      return "not_found";
    case status::store_failed:
      return "store_failed";
  }
  return "?";
}

account_service::account_service(account_config config, work_pool::poster post)
    : config_(std::move(config)),
      shared_(std::make_shared<shared>(config_.signin)),
      hashers_(config_.hash_threads, config_.max_queued_hashes, post),
      writer_(1, config_.max_queued_writes, post) {
  if (!config_.open)
    config_.open = sqlite_accounts(config_.db_path, config_.sessions, config_.loop_busy_timeout);
  work_db_ = config_.open(account_db_use::worker);
  loop_db_ = config_.open(account_db_use::loop);
}

account_service::~account_service() = default;

std::int64_t account_service::now_ms() const {
  if (config_.clock) return config_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void account_service::drain() {
  hashers_.drain();
  writer_.drain();
}

std::function<void()> account_service::hashed(auth_result r, std::string account,
                                              std::string address, done_fn done) {
  return [sh = shared_, r = std::move(r), account = std::move(account),
          address = std::move(address), done = std::move(done)] {
    if (r.what == status::ok) sh->limiter.succeeded(account, address, limiter_clock::now());
    done(r);
  };
}

void account_service::register_user(const name_claim& name, std::string password,
                                    const client_info& client, done_fn done) {
  const auto address = address_key(client.peer);
  // Charged first: probing which names exist costs attempts like guessing passwords does.
  if (auto wait = shared_->limiter.attempt({}, address, limiter_clock::now()); wait.count() > 0) {
    auto r = answer(status::rate_limited);
    r.retry_after = wait;
    return done(r);
  }
  std::string prepared;
  const auto problem = prepare_password(password, config_.passwords, name.display, prepared);
  wipe(password);
  if (problem != password_problem::none) {
    auto r = answer(status::invalid_password);
    r.problem = problem;
    return done(r);
  }
  try {
    const auto taken = loop_db_->check_name(name);
    if (taken == create_result::name_taken) return done(answer(status::name_taken));
    if (taken == create_result::name_look_alike) return done(answer(status::name_look_alike));
  } catch (const std::exception& e) {
    log_failure("name check", e);
    return done(answer(status::store_failed));
  }
  const bool queued =
      hashers_.submit([this, name, prepared = std::move(prepared), client, done]() mutable {
        auth_result r = answer(status::busy);  // no memory for the hash
        if (auto hash = hash_password(prepared, config_.cost)) {
          try {
            std::lock_guard lock(work_mutex_);
            std::int64_t id = 0;
            const auto created = work_db_->create_user(name, *hash, role::user, now_ms(), &id);
            if (created == create_result::name_taken) r = answer(status::name_taken);
            if (created == create_result::name_look_alike) r = answer(status::name_look_alike);
            if (created == create_result::created) {
              r = answer(status::ok);
              r.who = work_db_->by_id(id);
              r.session = work_db_->create_session(id, client.user_agent, peer_host(client.peer),
                                                   now_ms(), {});
            }
          } catch (const std::exception& e) {
            log_failure("registration", e);
            r = answer(status::store_failed);
          }
        }
        wipe(prepared);
        return hashed(std::move(r), {}, {}, std::move(done));
      });
  if (!queued) {
    shared_->limiter.cancel({}, address, limiter_clock::now());
    done(answer(status::busy));
  }
}

void account_service::sign_in(std::string_view name_key, std::string password,
                              const client_info& client, done_fn done) {
  // Charged before any read, by the name asked for (an unknown name too: the address limit
  // bounds how fast new names enter the bounded table), so that no attempt the limiter refuses
  // reaches the database; the read then runs on a hashing thread, never on the loop.
  const std::string account(name_key);
  const auto address = address_key(client.peer);
  if (auto wait = shared_->limiter.attempt(account, address, limiter_clock::now());
      wait.count() > 0) {
    auto r = answer(status::rate_limited);
    r.retry_after = wait;
    return done(r);
  }
  const bool queued = hashers_.submit(
      [this, password = std::move(password), client, account, address, done]() mutable {
        std::optional<user> who;
        std::string hash;
        try {
          std::lock_guard lock(work_mutex_);  // not held while hashing
          who = work_db_->by_key(account);
          if (who) hash = work_db_->password_hash(who->id).value_or("");
        } catch (const std::exception& e) {
          log_failure("sign-in lookup", e);
          wipe(password);
          return hashed(answer(status::store_failed), account, address, std::move(done));
        }
        auto r = finish_sign_in(std::move(who), std::move(hash), std::move(password), client);
        return hashed(std::move(r), account, address, std::move(done));
      });
  if (!queued) {
    shared_->limiter.cancel(account, address, limiter_clock::now());
    done(answer(status::busy));
  }
}

// On a hashing thread. Every path spends one Argon2id verification, so the time of an answer
// does not tell whether the name exists.
auth_result account_service::finish_sign_in(std::optional<user> who, std::string hash,
                                            std::string password, const client_info& client) {
  std::call_once(dummy_once_, [this] {
    dummy_hash_ = hash_password("no one's password, for timing", config_.cost).value_or("");
  });
  password_rules any = config_.passwords;
  any.min_chars = 0;  // a password set under older, looser rules still signs in
  std::string prepared;
  const bool usable = prepare_password(password, any, {}, prepared) == password_problem::none;
  wipe(password);
  const bool right = verify_password(who && usable ? hash : dummy_hash_, prepared) && who && usable;
  if (!right) {
    wipe(prepared);
    return answer(status::bad_credentials);
  }
  if (who->banned) return answer(status::banned);
  std::optional<std::string> rehashed;
  if (needs_rehash(hash, config_.cost)) rehashed = hash_password(prepared, config_.cost);
  wipe(prepared);
  try {
    std::lock_guard lock(work_mutex_);
    if (rehashed && work_db_->replace_password_hash(who->id, hash, *rehashed)) hash = *rehashed;
    auto r = answer(status::ok);
    r.session = work_db_->create_session(who->id, client.user_agent, peer_host(client.peer),
                                         now_ms(), hash);
    // No session: the password was changed or the user banned since it was read.
    if (!r.session) return answer(status::bad_credentials);
    r.who = std::move(who);
    return r;
  } catch (const std::exception& e) {
    log_failure("sign-in", e);
    return answer(status::store_failed);
  }
}

void account_service::change_password(const signed_in& who, std::string current, std::string next,
                                      const client_info& client, done_fn done) {
  const auto& account = who.who.key;  // the bucket sign-in charges
  const auto address = address_key(client.peer);
  const auto now = limiter_clock::now();
  if (auto wait = shared_->limiter.attempt(account, address, now); wait.count() > 0) {
    auto r = answer(status::rate_limited);
    r.retry_after = wait;
    return done(r);
  }
  std::string prepared;
  const auto problem = prepare_password(next, config_.passwords, who.who.name, prepared);
  wipe(next);
  std::string hash;
  try {
    hash = loop_db_->password_hash(who.who.id).value_or("");
  } catch (const std::exception& e) {
    log_failure("password lookup", e);
    shared_->limiter.cancel(account, address, now);
    return done(answer(status::store_failed));
  }
  if (problem != password_problem::none) {
    shared_->limiter.cancel(account, address, now);  // not a guess at the current one
    auto r = answer(status::invalid_password);
    r.problem = problem;
    return done(r);
  }
  const std::int64_t user_id = who.who.id, keep = who.session.id;
  const bool queued =
      hashers_.submit([this, user_id, keep, hash, current = std::move(current),
                       prepared = std::move(prepared), account, address, done]() mutable {
        password_rules any = config_.passwords;
        any.min_chars = 0;
        std::string cur;
        const bool usable = prepare_password(current, any, {}, cur) == password_problem::none;
        wipe(current);
        const bool right = usable && verify_password(hash, cur);
        wipe(cur);
        auth_result r = answer(right ? status::busy : status::bad_credentials);
        std::optional<std::string> fresh;
        if (right) fresh = hash_password(prepared, config_.cost);
        wipe(prepared);
        if (fresh) {
          try {
            std::lock_guard lock(work_mutex_);
            const auto ended = work_db_->set_password(user_id, *fresh, now_ms(), keep);
            r = answer(ended ? status::ok : status::not_found);
            r.revoked = ended.value_or(0);
          } catch (const std::exception& e) {
            log_failure("password change", e);
            r = answer(status::store_failed);
          }
        }
        return hashed(std::move(r), account, address, std::move(done));
      });
  if (!queued) {
    shared_->limiter.cancel(account, address, now);
    done(answer(status::busy));
  }
}

bool account_service::run_write(std::function<auth_result(account_db&)> work, done_fn done) {
  return writer_.submit([this, work = std::move(work), done]() mutable {
    auth_result r;
    try {
      std::lock_guard lock(work_mutex_);
      r = work(*work_db_);
    } catch (const std::exception& e) {
      log_failure("session write", e);
      r = answer(status::store_failed);
    }
    return std::function<void()>([r = std::move(r), done = std::move(done)] {
      if (done) done(r);
    });
  });
}

void account_service::sign_out(const signed_in& who, done_fn done) {
  revoke(who, who.session.id, std::move(done));
}

void account_service::revoke(const signed_in& who, std::int64_t session_id, done_fn done) {
  const auto user_id = who.who.id;
  auto work = [user_id, session_id](account_db& db) {
    return answer(db.revoke(user_id, session_id) ? status::ok : status::not_found);
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::revoke_others(const signed_in& who, done_fn done) {
  const auto user_id = who.who.id, keep = who.session.id;
  auto work = [user_id, keep](account_db& db) {
    auto r = answer(status::ok);
    r.revoked = db.revoke_all(user_id, keep);
    return r;
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::set_display(const signed_in& who, std::optional<name_claim> display,
                                  done_fn done) {
  const auto user_id = who.who.id;
  auto work = [user_id, display = std::move(display)](account_db& db) {
    const auto set = db.set_display(user_id, display);
    if (set == create_result::name_taken) return answer(status::name_taken);
    if (set == create_result::name_look_alike) return answer(status::name_look_alike);
    auto r = answer(status::ok);
    r.who = db.by_id(user_id);
    if (!r.who) r = answer(status::not_found);
    return r;
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::purge_expired() {
  const auto now = now_ms();
  run_write(
      [now](account_db& db) {
        db.purge_expired(now);
        return answer(status::ok);
      },
      nullptr);
}

lookup account_service::authenticate(std::string_view token) {
  lookup out;
  const auto now = now_ms();
  try {
    out.session = loop_db_->find_session(token, now);
  } catch (const std::exception& e) {
    log_failure("session lookup", e);
    out.failed = true;
    return out;
  }
  if (out.session &&
      now - out.session->session.last_seen_ms >=
          std::chrono::duration_cast<std::chrono::milliseconds>(config_.sessions.touch_every)
              .count()) {
    const auto id = out.session->session.id;
    // Skipped when the writer is full: last-seen is a hint, and the next request retries it.
    run_write(
        [id, now](account_db& db) {
          db.touch(id, now);
          return answer(status::ok);
        },
        nullptr);
  }
  return out;
}

bool account_service::session_alive(std::int64_t session_id, bool keep_when_unknown) {
  try {
    return loop_db_->session_exists(session_id);
  } catch (const std::exception& e) {
    log_failure("session check", e);
    return keep_when_unknown;
  }
}

account_db::session_changes account_service::changes_elsewhere() {
  try {
    return loop_db_->changes_elsewhere();
  } catch (const std::exception& e) {
    log_failure("change check", e);
    return {true, std::nullopt};
  }
}

bool account_service::changed_elsewhere() {
  try {
    return loop_db_->changed_elsewhere();
  } catch (const std::exception& e) {
    log_failure("change check", e);
    return true;
  }
}

bool account_service::name_registered(std::string_view key, std::string_view skeleton) {
  try {
    return loop_db_->name_registered(key, skeleton);
  } catch (const std::exception& e) {
    log_failure("name check", e);
    return true;
  }
}

// For private conversations: the user a shown name's key designates, as the chat shows it.
std::optional<std::string> account_service::shown_name(std::string_view key) {
  try {
    return loop_db_->shown_name(key);
  } catch (const std::exception& e) {
    log_failure("name lookup", e);
  }
  return std::nullopt;
}

std::optional<std::string> account_service::key_of_shown(std::string_view shown_key) {
  try {
    return loop_db_->key_of_shown(shown_key);
  } catch (const std::exception& e) {
    log_failure("name lookup", e);
  }
  return std::nullopt;
}

std::optional<std::vector<session_info>> account_service::sessions(std::int64_t user_id) {
  try {
    return loop_db_->list_sessions(user_id, now_ms());
  } catch (const std::exception& e) {
    log_failure("session list", e);
    return std::nullopt;
  }
}

}  // namespace duplex::chat
