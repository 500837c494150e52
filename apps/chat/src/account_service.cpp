#include "account_service.hpp"

#include <sodium.h>

#include <cstdio>

#include "client_address.hpp"
#include "schema.hpp"

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
      loop_db_(config_.db_path, config_.loop_busy_timeout),
      work_db_(config_.db_path, std::chrono::seconds(5)),
      shared_(std::make_shared<shared>(config_.signin)),
      hashers_(config_.hash_threads, config_.max_queued_hashes, post),
      writer_(1, config_.max_queued_writes, post) {
  configure(work_db_);
  migrate(work_db_);
  loop_db_.exec("PRAGMA foreign_keys=ON;");
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
    const auto taken = account_store(loop_db_).check_name(name);
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
            const auto created =
                account_store(work_db_).create(name, *hash, role::user, now_ms(), &id);
            if (created == create_result::name_taken) r = answer(status::name_taken);
            if (created == create_result::name_look_alike) r = answer(status::name_look_alike);
            if (created == create_result::created) {
              r = answer(status::ok);
              r.who = account_store(work_db_).by_id(id);
              r.session = session_store(work_db_, config_.sessions)
                              .create(id, client.user_agent, peer_host(client.peer), now_ms());
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
  std::optional<user> who;
  std::string hash;
  try {
    account_store users(loop_db_);
    who = users.by_key(name_key);
    if (who) hash = users.password_hash(who->id).value_or("");
  } catch (const std::exception& e) {
    log_failure("sign-in lookup", e);
    return done(answer(status::store_failed));
  }
  const std::string account = who ? std::to_string(who->id) : std::string();
  const auto address = address_key(client.peer);
  if (auto wait = shared_->limiter.attempt(account, address, limiter_clock::now());
      wait.count() > 0) {
    auto r = answer(status::rate_limited);
    r.retry_after = wait;
    return done(r);
  }
  const bool queued = hashers_.submit(
      [this, who, hash, password = std::move(password), client, account, address, done]() mutable {
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
    if (rehashed && account_store(work_db_).replace_password_hash(who->id, hash, *rehashed))
      hash = *rehashed;
    auto r = answer(status::ok);
    r.session = session_store(work_db_, config_.sessions)
                    .create(who->id, client.user_agent, peer_host(client.peer), now_ms(), hash);
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
  const auto account = std::to_string(who.who.id);
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
    hash = account_store(loop_db_).password_hash(who.who.id).value_or("");
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
            sql::transaction tx(work_db_);
            if (!account_store(work_db_).set_password_hash(user_id, *fresh, now_ms())) {
              r = answer(status::not_found);
            } else {
              r = answer(status::ok);
              r.revoked = session_store(work_db_, config_.sessions).revoke_all(user_id, keep);
              tx.commit();
            }
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

bool account_service::run_write(std::function<auth_result(sql::connection&)> work, done_fn done) {
  return writer_.submit([this, work = std::move(work), done]() mutable {
    auth_result r;
    try {
      std::lock_guard lock(work_mutex_);
      r = work(work_db_);
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
  const auto limits = config_.sessions;
  auto work = [user_id, session_id, limits](sql::connection& db) {
    return answer(session_store(db, limits).revoke(user_id, session_id) ? status::ok
                                                                        : status::not_found);
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::revoke_others(const signed_in& who, done_fn done) {
  const auto user_id = who.who.id, keep = who.session.id;
  const auto limits = config_.sessions;
  auto work = [user_id, keep, limits](sql::connection& db) {
    auto r = answer(status::ok);
    r.revoked = session_store(db, limits).revoke_all(user_id, keep);
    return r;
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::set_display(const signed_in& who, std::optional<name_claim> display,
                                  done_fn done) {
  const auto user_id = who.who.id;
  auto work = [user_id, display = std::move(display)](sql::connection& db) {
    account_store users(db);
    const auto set = users.set_display(user_id, display);
    if (set == create_result::name_taken) return answer(status::name_taken);
    if (set == create_result::name_look_alike) return answer(status::name_look_alike);
    auto r = answer(status::ok);
    r.who = users.by_id(user_id);
    if (!r.who) r = answer(status::not_found);
    return r;
  };
  if (!run_write(work, done)) done(answer(status::busy));
}

void account_service::purge_expired() {
  const auto limits = config_.sessions;
  const auto now = now_ms();
  run_write(
      [limits, now](sql::connection& db) {
        session_store(db, limits).purge_expired(now);
        return answer(status::ok);
      },
      nullptr);
}

lookup account_service::authenticate(std::string_view token) {
  lookup out;
  const auto now = now_ms();
  try {
    out.session = session_store(loop_db_, config_.sessions).find(token, now);
  } catch (const std::exception& e) {
    log_failure("session lookup", e);
    out.failed = true;
    return out;
  }
  if (out.session && session_store(loop_db_, config_.sessions).stale(out.session->session, now)) {
    const auto id = out.session->session.id;
    const auto limits = config_.sessions;
    // Skipped when the writer is full: last-seen is a hint, and the next request retries it.
    run_write(
        [id, now, limits](sql::connection& db) {
          session_store(db, limits).touch(id, now);
          return answer(status::ok);
        },
        nullptr);
  }
  return out;
}

bool account_service::session_alive(std::int64_t session_id) {
  try {
    sql::statement st(loop_db_, "SELECT 1 FROM sessions WHERE id = ?");
    st.bind(1, session_id);
    return st.row();
  } catch (const std::exception& e) {
    log_failure("session check", e);
    return false;
  }
}

bool account_service::changed_elsewhere() {
  try {
    sql::statement st(loop_db_, "PRAGMA data_version");
    const std::int64_t now = st.row() ? st.integer(0) : -1;
    const bool changed = now != data_version_ || now < 0;
    data_version_ = now;
    return changed;
  } catch (const std::exception& e) {
    log_failure("change check", e);
    return true;
  }
}

bool account_service::name_registered(std::string_view key, std::string_view skeleton) {
  try {
    sql::statement st(loop_db_,
                      "SELECT 1 FROM users WHERE name_key = ?1 OR name_skeleton = ?2"
                      " OR display_key = ?1 OR display_skeleton = ?2");
    st.bind(1, key).bind(2, skeleton);
    return st.row();
  } catch (const std::exception& e) {
    log_failure("name check", e);
    return true;
  }
}

// For private conversations: the user a shown name's key designates, as the chat shows it.
std::optional<std::string> account_service::shown_name(std::string_view key) {
  try {
    sql::statement st(loop_db_,
                      "SELECT COALESCE(display_name, name) FROM users WHERE banned = 0 AND"
                      " name_key = ?1");
    st.bind(1, key);
    if (st.row()) return st.text(0);
  } catch (const std::exception& e) {
    log_failure("name lookup", e);
  }
  return std::nullopt;
}

std::optional<std::string> account_service::key_of_shown(std::string_view shown_key) {
  try {
    sql::statement st(loop_db_,
                      "SELECT name_key FROM users WHERE banned = 0 AND"
                      " (display_key = ?1 OR (display_key IS NULL AND name_key = ?1))");
    st.bind(1, shown_key);
    if (st.row()) return st.text(0);
  } catch (const std::exception& e) {
    log_failure("name lookup", e);
  }
  return std::nullopt;
}

std::optional<std::vector<session_info>> account_service::sessions(std::int64_t user_id) {
  try {
    return session_store(loop_db_, config_.sessions).list(user_id, now_ms());
  } catch (const std::exception& e) {
    log_failure("session list", e);
    return std::nullopt;
  }
}

}  // namespace duplex::chat
