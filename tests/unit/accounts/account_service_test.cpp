// The asynchronous accounts: hashing on workers, answers through the poster, limits, sessions.
#include <gtest/gtest.h>

#include <atomic>

#include "accounts/accounts_support.hpp"
#include "src/account_service.hpp"
#include "src/schema.hpp"
#include "src/sqlite_account_db.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using test::claim;

constexpr const char* pw = "correct horse";
const client_info phone{"192.0.2.1:5000", "Phone/1.0"};
const client_info laptop{"192.0.2.2:6000", "Laptop/2.0"};

// The SQLite accounts, counting the sign-in reads (by_key) made through connections opened for
// the loop and for the workers.
struct read_counts {
  std::atomic<int> loop{0}, worker{0};
};
class counting_db : public account_db {
 public:
  counting_db(std::unique_ptr<account_db> db, std::atomic<int>& reads)
      : db_(std::move(db)), reads_(reads) {}
  create_result create_user(const name_claim& n, std::string_view h, role r, std::int64_t t,
                            std::int64_t* id) override {
    return db_->create_user(n, h, r, t, id);
  }
  create_result check_name(const name_claim& n) override { return db_->check_name(n); }
  create_result set_display(std::int64_t id, const std::optional<name_claim>& d) override {
    return db_->set_display(id, d);
  }
  std::optional<user> by_id(std::int64_t id) override { return db_->by_id(id); }
  std::optional<user> by_key(std::string_view key) override {
    ++reads_;
    return db_->by_key(key);
  }
  std::optional<std::string> password_hash(std::int64_t id) override {
    return db_->password_hash(id);
  }
  bool replace_password_hash(std::int64_t id, std::string_view o, std::string_view h) override {
    return db_->replace_password_hash(id, o, h);
  }
  std::optional<std::size_t> set_password(std::int64_t id, std::string_view h, std::int64_t t,
                                          std::int64_t keep) override {
    return db_->set_password(id, h, t, keep);
  }
  bool set_role(std::int64_t id, role r) override { return db_->set_role(id, r); }
  std::optional<std::size_t> set_banned(std::int64_t id, bool b) override {
    return db_->set_banned(id, b);
  }
  std::vector<user_summary> list_users() override { return db_->list_users(); }
  std::vector<std::string> refresh_skeletons(
      const std::function<std::string(std::string_view)>& f) override {
    return db_->refresh_skeletons(f);
  }
  std::optional<new_session> create_session(std::int64_t u, std::string_view a,
                                            std::string_view addr, std::int64_t t,
                                            std::string_view h) override {
    return db_->create_session(u, a, addr, t, h);
  }
  std::optional<signed_in> find_session(std::string_view tok, std::int64_t t) override {
    return db_->find_session(tok, t);
  }
  void touch(std::int64_t id, std::int64_t t) override { db_->touch(id, t); }
  std::vector<session_info> list_sessions(std::int64_t u, std::int64_t t) override {
    return db_->list_sessions(u, t);
  }
  bool revoke(std::int64_t u, std::int64_t id) override { return db_->revoke(u, id); }
  std::size_t revoke_all(std::int64_t u, std::int64_t keep) override {
    return db_->revoke_all(u, keep);
  }
  std::size_t purge_expired(std::int64_t t) override { return db_->purge_expired(t); }
  bool session_exists(std::int64_t id) override { return db_->session_exists(id); }
  bool changed_elsewhere() override { return db_->changed_elsewhere(); }
  bool name_registered(std::string_view k, std::string_view s) override {
    return db_->name_registered(k, s);
  }
  std::optional<std::string> shown_name(std::string_view k) override { return db_->shown_name(k); }
  std::optional<std::string> key_of_shown(std::string_view k) override {
    return db_->key_of_shown(k);
  }

 private:
  std::unique_ptr<account_db> db_;
  std::atomic<int>& reads_;
};

struct AccountService : ::testing::Test {
  account_config config() {
    account_config c;
    c.db_path = file.path();
    c.cost = hash_cost::minimum();
    c.hash_threads = 1;
    c.clock = [this] { return now.load(); };
    return c;
  }
  // Runs the loop's side until `r` holds an answer (the workers post it).
  auth_result wait(account_service& s, std::optional<auth_result>& r) {
    s.drain();
    loop.run();
    EXPECT_TRUE(r) << "no answer was posted";
    return r.value_or(auth_result{status::store_failed, {}, {}, {}, {}, 0});
  }
  auth_result registered(account_service& s, std::string_view name, const char* password = pw,
                         const client_info& c = phone) {
    std::optional<auth_result> r;
    s.register_user(claim(name), password, c, [&](auth_result a) { r = a; });
    return wait(s, r);
  }
  auth_result sign_in_as(account_service& s, std::string_view key, const char* password = pw,
                         const client_info& c = phone) {
    std::optional<auth_result> r;
    s.sign_in(key, password, c, [&](auth_result a) { r = a; });
    return wait(s, r);
  }
  test::temp_db file;
  test::manual_loop loop;
  std::atomic<std::int64_t> now{1'700'000'000'000};
};

TEST_F(AccountService, RegistersAndSignsInWithAnswersPostedToTheLoop) {
  account_service s(config(), loop.poster());
  std::optional<auth_result> r;
  s.register_user(claim("Ann"), pw, phone, [&](auth_result a) { r = a; });
  s.drain();
  EXPECT_FALSE(r);  // done, but not answered until the loop runs what was posted
  EXPECT_EQ(loop.run(), 1u);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->what, status::ok) << to_string(r->what);
  ASSERT_TRUE(r->who && r->session);
  EXPECT_EQ(r->who->name, "Ann");
  const auto found = s.authenticate(r->session->token);
  ASSERT_TRUE(found.session);
  EXPECT_EQ(found.session->who.id, r->who->id);
  EXPECT_EQ(found.session->session.user_agent, "Phone/1.0");
  EXPECT_EQ(found.session->session.address, "192.0.2.1");

  const auto in = sign_in_as(s, "ann", pw, laptop);
  ASSERT_EQ(in.what, status::ok);
  EXPECT_NE(in.session->token, r->session->token);
  EXPECT_EQ(s.sessions(r->who->id)->size(), 2u);
  // NFKC: the full-width form of the same password is the same password.
  EXPECT_EQ(sign_in_as(s, "ann", "\uff43orrect horse").what, status::ok);
}

TEST_F(AccountService, WrongPasswordAndUnknownNameGetTheSameAnswer) {
  account_service s(config(), loop.poster());
  ASSERT_EQ(registered(s, "ann").what, status::ok);
  const auto wrong = sign_in_as(s, "ann", "correct horsf");
  const auto unknown = sign_in_as(s, "zed", pw);
  EXPECT_EQ(wrong.what, status::bad_credentials);
  EXPECT_EQ(unknown.what, status::bad_credentials);
  EXPECT_FALSE(wrong.session || unknown.session);
  EXPECT_EQ(sign_in_as(s, "ann", std::string(300, 'x').c_str()).what, status::bad_credentials);
  EXPECT_EQ(sign_in_as(s, "", pw).what, status::bad_credentials);
}

TEST_F(AccountService, NamesTakenOrLookingAlikeAreRefusedBeforeHashing) {
  account_service s(config(), loop.poster());
  ASSERT_EQ(registered(s, "bob").what, status::ok);
  std::optional<auth_result> r;
  s.register_user(claim("BOB"), pw, phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);  // answered at once
  EXPECT_EQ(r->what, status::name_taken);
  r.reset();
  s.register_user(claim("b0b"), pw, phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, status::name_look_alike);
}

TEST_F(AccountService, ABadNewPasswordIsAnsweredAtOnce) {
  account_service s(config(), loop.poster());
  std::optional<auth_result> r;
  s.register_user(claim("cat"), "short", phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, status::invalid_password);
  EXPECT_EQ(r->problem, password_problem::too_short);
  r.reset();
  s.register_user(claim("catherine"), "catherine", phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->problem, password_problem::same_as_name);
}

// No queue at all for hashing: every attempt is refused at once with "busy", and refunded, so
// the limit of the address is not spent by attempts that were never made.
TEST_F(AccountService, AFullHashQueueAnswersBusyAtOnce) {
  auto c = config();
  c.max_queued_hashes = 0;
  c.signin.address = {1, 60s};
  account_service s(c, loop.poster());
  for (int i = 0; i < 3; ++i) {
    std::optional<auth_result> r;
    s.register_user(claim("dan"), pw, phone, [&](auth_result a) { r = a; });
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->what, status::busy);
    EXPECT_EQ(r->retry_after, 1s);
    r.reset();
    s.sign_in("dan", pw, phone, [&](auth_result a) { r = a; });
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->what, status::busy);
  }
  EXPECT_EQ(loop.run(), 0u);
}

TEST_F(AccountService, SignInsAreLimitedPerAccountAndSuccessRefunds) {
  auto c = config();
  c.signin.account = {2, 60s};
  account_service s(c, loop.poster());
  ASSERT_EQ(registered(s, "eve").what, status::ok);
  ASSERT_EQ(registered(s, "fay").what, status::ok);
  for (int i = 0; i < 5; ++i)  // success gives the token back
    ASSERT_EQ(sign_in_as(s, "fay").what, status::ok) << i;
  EXPECT_EQ(sign_in_as(s, "eve", "wrong guess 1").what, status::bad_credentials);
  EXPECT_EQ(sign_in_as(s, "eve", "wrong guess 2", laptop).what, status::bad_credentials);
  std::optional<auth_result> r;
  s.sign_in("eve", pw, phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);  // at once, without hashing
  EXPECT_EQ(r->what, status::rate_limited);
  EXPECT_GT(r->retry_after, 0ms);
  EXPECT_LE(r->retry_after, 60s);
  EXPECT_EQ(sign_in_as(s, "fay").what, status::ok);  // other accounts are not affected
}

// A refused attempt costs no read at all, and an allowed one reads on a worker, not on the loop:
// a client cannot make the loop wait on the database (PostgreSQL with --pg) at will.
TEST_F(AccountService, SignInChargesTheLimiterBeforeAnyReadAndReadsOffTheLoop) {
  auto c = config();
  c.signin.address = {2, 60s};
  c.signin.account = {2, 60s};
  read_counts reads;
  auto sqlite = sqlite_accounts(file.path(), c.sessions, c.loop_busy_timeout);
  c.open = [&](account_db_use use) -> std::unique_ptr<account_db> {
    return std::make_unique<counting_db>(sqlite(use),
                                         use == account_db_use::loop ? reads.loop : reads.worker);
  };
  account_service s(c, loop.poster());
  ASSERT_EQ(registered(s, "gil").what, status::ok);
  EXPECT_EQ(sign_in_as(s, "gil", "wrong 1").what, status::bad_credentials);
  EXPECT_EQ(sign_in_as(s, "nobody", pw, laptop).what, status::bad_credentials);
  EXPECT_EQ(reads.loop, 0);
  EXPECT_EQ(reads.worker, 2);
  // The address has spent its 2 tokens (registration, a sign-in): refused, nothing read.
  for (int i = 0; i < 5; ++i) {
    std::optional<auth_result> r;
    s.sign_in("nobody" + std::to_string(i), pw, phone, [&](auth_result a) { r = a; });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->what, status::rate_limited);
  }
  // The name's bucket: one more guess at gil from a fresh address, then refused unread.
  const client_info tablet{"192.0.2.3:7000", "Tablet/3.0"}, watch{"192.0.2.4:7000", "W/1"};
  EXPECT_EQ(sign_in_as(s, "gil", "wrong 2", tablet).what, status::bad_credentials);
  std::optional<auth_result> r;
  s.sign_in("gil", pw, watch, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, status::rate_limited);
  s.drain();
  loop.run();
  EXPECT_EQ(reads.loop, 0);
  EXPECT_EQ(reads.worker, 3);
}

TEST_F(AccountService, SignInRehashesWhenTheCostChanged) {
  std::int64_t id = 0;
  std::string before;
  {
    account_service s(config(), loop.poster());
    const auto r = registered(s, "gus");
    ASSERT_EQ(r.what, status::ok);
    id = r.who->id;
  }
  sql::connection db(file.path(), 1s);
  before = *account_store(db).password_hash(id);
  auto c = config();
  c.cost.ops += 1;
  account_service s(c, loop.poster());
  ASSERT_EQ(sign_in_as(s, "gus").what, status::ok);
  const auto after = *account_store(db).password_hash(id);
  EXPECT_NE(after, before);
  EXPECT_TRUE(needs_rehash(before, c.cost));
  EXPECT_FALSE(needs_rehash(after, c.cost));
  EXPECT_EQ(sign_in_as(s, "gus").what, status::ok);
  EXPECT_EQ(*account_store(db).password_hash(id), after);  // once only
}

TEST_F(AccountService, ChangingThePasswordEndsEveryOtherSession) {
  account_service s(config(), loop.poster());
  const auto first = registered(s, "hal");
  const auto second = sign_in_as(s, "hal", pw, laptop);
  const auto third = sign_in_as(s, "hal", pw, laptop);
  ASSERT_EQ(third.what, status::ok);
  const auto me = *s.authenticate(first.session->token).session;

  std::optional<auth_result> r;
  s.change_password(me, "not the password", "a new password", phone, [&](auth_result a) { r = a; });
  EXPECT_EQ(wait(s, r).what, status::bad_credentials);
  EXPECT_TRUE(s.authenticate(second.session->token).session);  // nothing changed
  r.reset();
  s.change_password(me, pw, "short", phone, [&](auth_result a) { r = a; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, status::invalid_password);
  r.reset();
  s.change_password(me, pw, "a new password", phone, [&](auth_result a) { r = a; });
  const auto changed = wait(s, r);
  ASSERT_EQ(changed.what, status::ok);
  EXPECT_EQ(changed.revoked, 2u);
  EXPECT_TRUE(s.authenticate(first.session->token).session);
  EXPECT_FALSE(s.authenticate(second.session->token).session);
  EXPECT_FALSE(s.authenticate(third.session->token).session);
  EXPECT_EQ(sign_in_as(s, "hal", pw).what, status::bad_credentials);
  EXPECT_EQ(sign_in_as(s, "hal", "a new password").what, status::ok);
}

TEST_F(AccountService, BannedUsersCannotSignInAndTheirSessionsStop) {
  account_service s(config(), loop.poster());
  const auto r = registered(s, "ivy");
  ASSERT_EQ(r.what, status::ok);
  sql::connection db(file.path(), 1s);
  account_store(db).set_banned(r.who->id, true);
  EXPECT_FALSE(s.authenticate(r.session->token).session);
  EXPECT_EQ(sign_in_as(s, "ivy").what, status::banned);
  EXPECT_EQ(sign_in_as(s, "ivy", "wrong password").what, status::bad_credentials);
}

TEST_F(AccountService, ACommitByAnotherConnectionIsNoticed) {
  account_service s(config(), loop.poster());
  const auto r = registered(s, "jon");
  ASSERT_EQ(r.what, status::ok);
  EXPECT_TRUE(s.changed_elsewhere());  // the first look has nothing to compare with
  EXPECT_FALSE(s.changed_elsewhere());
  EXPECT_TRUE(s.session_alive(r.session->info.id));  // a read is not a change
  EXPECT_FALSE(s.changed_elsewhere());
  sql::connection operator_db(file.path(), 1s);  // as `duplex-chat user ban` opens it
  EXPECT_EQ(session_store(operator_db, {}).revoke_all(r.who->id), 1u);
  EXPECT_TRUE(s.changed_elsewhere());
  EXPECT_FALSE(s.session_alive(r.session->info.id));
  EXPECT_FALSE(s.changed_elsewhere());
}

TEST_F(AccountService, SignOutAndRevocation) {
  account_service s(config(), loop.poster());
  const auto a = registered(s, "jay");
  const auto b = sign_in_as(s, "jay", pw, laptop);
  const auto c = sign_in_as(s, "jay", pw, laptop);
  const auto other = registered(s, "kim");
  const auto me = *s.authenticate(a.session->token).session;
  std::optional<auth_result> r;
  s.revoke(me, other.session->info.id, [&](auth_result x) { r = x; });
  EXPECT_EQ(wait(s, r).what, status::not_found);  // someone else's session
  EXPECT_TRUE(s.authenticate(other.session->token).session);
  r.reset();
  s.revoke(me, b.session->info.id, [&](auth_result x) { r = x; });
  EXPECT_EQ(wait(s, r).what, status::ok);
  EXPECT_FALSE(s.authenticate(b.session->token).session);
  r.reset();
  s.revoke_others(me, [&](auth_result x) { r = x; });
  EXPECT_EQ(wait(s, r).revoked, 1u);
  EXPECT_FALSE(s.authenticate(c.session->token).session);
  r.reset();
  s.sign_out(me, [&](auth_result x) { r = x; });
  EXPECT_EQ(wait(s, r).what, status::ok);
  EXPECT_FALSE(s.authenticate(a.session->token).session);
  EXPECT_TRUE(s.sessions(me.who.id)->empty());
}

TEST_F(AccountService, LastSeenIsWrittenInTheBackgroundAtMostOncePerInterval) {
  account_service s(config(), loop.poster());
  const auto a = registered(s, "lee");
  const auto t0 = now.load();
  now += 30'000;
  ASSERT_TRUE(s.authenticate(a.session->token).session);
  s.drain();
  EXPECT_EQ((*s.sessions(a.who->id))[0].last_seen_ms, t0);  // too soon to write
  now += 31'000;
  ASSERT_TRUE(s.authenticate(a.session->token).session);
  s.drain();
  EXPECT_EQ((*s.sessions(a.who->id))[0].last_seen_ms, t0 + 61'000);
  // Idle for longer than session_limits::idle: gone, and purged.
  now += std::chrono::duration_cast<std::chrono::milliseconds>(session_limits{}.idle).count();
  EXPECT_FALSE(s.authenticate(a.session->token).session);
  s.purge_expired();
  s.drain();
  sql::connection db(file.path(), 1s);
  sql::statement count(db, "SELECT COUNT(*) FROM sessions");
  ASSERT_TRUE(count.row());
  EXPECT_EQ(count.integer(0), 0);
}

TEST_F(AccountService, AnUnreadableDatabaseIsAnAnswerNotACrash) {
  account_service s(config(), loop.poster());
  const auto a = registered(s, "max");
  {
    sql::connection db(file.path(), 1s);
    db.exec("DROP TABLE sessions");
  }
  const auto found = s.authenticate(a.session->token);
  EXPECT_TRUE(found.failed);
  EXPECT_FALSE(s.sessions(a.who->id));
  EXPECT_EQ(sign_in_as(s, "max").what, status::store_failed);
}

}  // namespace
}  // namespace duplex::chat
