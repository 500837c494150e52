// The schema version, and the upgrade of a database that an earlier duplex-chat wrote.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "accounts/accounts_support.hpp"
#include "src/accounts.hpp"
#include "src/schema.hpp"
#include "src/sqlite_store.hpp"

namespace duplex::chat {
namespace {

using test::temp_db;

int version_of(const std::string& path) {
  sql::connection db(path, std::chrono::seconds(1));
  sql::statement st(db, "PRAGMA user_version");
  return st.row() ? static_cast<int>(st.integer(0)) : -1;
}

std::vector<stored_message> history(sqlite_store& s, const std::string& room) {
  std::vector<stored_message> out;
  s.before(room, 1'000'000, 100, [&](bool ok, std::vector<stored_message> m) {
    EXPECT_TRUE(ok);
    out = std::move(m);
  });
  return out;
}

// A file written by today's history store (version 0) gains the accounts tables; its history
// stays readable by the history store, before and after.
TEST(Schema, UpgradesAChatDatabaseInPlace) {
  temp_db file;
  std::vector<std::function<void()>> posted;
  auto post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); };
  {
    sqlite_store store(file.path(), post);
    for (int i = 0; i < 3; ++i)
      store.append({"general", 0, "ann", "line " + std::to_string(i), 1000 + i}, nullptr);
    store.flush();
  }
  ASSERT_EQ(version_of(file.path()), 0);

  sql::connection db(file.path(), std::chrono::seconds(1));
  configure(db);
  EXPECT_EQ(migrate(db), 0);
  EXPECT_EQ(version_of(file.path()), schema_version);
  EXPECT_EQ(migrate(db), schema_version);  // a second open changes nothing
  std::int64_t id = 0;
  EXPECT_EQ(account_store(db).create(test::claim("ann"), "hash", role::user, 1, &id),
            create_result::created);

  sqlite_store again(file.path(), post);  // the chat opens the upgraded file as before
  const auto lines = history(again, "general");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "line 0");
  EXPECT_EQ(lines[2].id, 3);
  again.append({"general", 0, "ann", "after", 2000}, nullptr);
  again.flush();
  EXPECT_EQ(history(again, "general").size(), 4u);
  EXPECT_EQ(account_store(db).by_id(id)->name, "ann");
}

// The oldest layout (messages only, no rooms table, as hub_hardening_test builds it) upgrades
// too, whichever of the two stores opens it first.
TEST(Schema, UpgradesTheOldestLayoutBeforeTheHistoryStoreOpensIt) {
  temp_db file;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL,"
                           " nick TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL,"
                           " PRIMARY KEY (room, id)) WITHOUT ROWID;"
                           "INSERT INTO messages VALUES ('old', 1, 'n', 'kept', 0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    configure(db);
    EXPECT_EQ(migrate(db), 0);
  }
  std::vector<std::function<void()>> posted;
  sqlite_store store(file.path(), [&](std::function<void()> fn) { posted.push_back(fn); });
  const auto lines = history(store, "old");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "kept");
  EXPECT_EQ(version_of(file.path()), schema_version);
}

// A file at version 1 (accounts without display names, as the first duplex-chat with accounts
// wrote it) gains display names and keeps its users and sessions.
TEST(Schema, UpgradesVersionOneToDisplayNames) {
  temp_db file;
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    db.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " name_key TEXT NOT NULL UNIQUE, name_skeleton TEXT NOT NULL UNIQUE,"
        " password_hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'user',"
        " banned INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
        " password_changed_ms INTEGER NOT NULL);"
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " token_hash BLOB NOT NULL UNIQUE, user_id INTEGER NOT NULL REFERENCES users (id),"
        " created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, user_agent TEXT NOT NULL,"
        " address TEXT NOT NULL);"
        "INSERT INTO users (name, name_key, name_skeleton, password_hash, created_ms,"
        " password_changed_ms) VALUES ('Ann', 'ann', 'ann', 'h', 1, 1);"
        "PRAGMA user_version = 1;");
  }
  sql::connection db(file.path(), std::chrono::seconds(1));
  configure(db);
  EXPECT_EQ(migrate(db), 1);
  EXPECT_EQ(version_of(file.path()), schema_version);
  account_store users(db);
  const auto ann = users.by_key("ann");
  ASSERT_TRUE(ann);
  EXPECT_EQ(ann->shown(), "Ann");
  EXPECT_EQ(users.set_display(ann->id, test::claim("Annie")), create_result::created);
  EXPECT_EQ(users.by_key("ann")->display, "Annie");
}

TEST(Schema, RefusesAFileFromANewerProgram) {
  temp_db file;
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version + 1)).c_str());
  }
  sql::connection db(file.path(), std::chrono::seconds(1));
  EXPECT_THROW(migrate(db), std::runtime_error);
  EXPECT_EQ(version_of(file.path()), schema_version + 1);
}

// Two processes (here two connections on two threads) opening a fresh file at once: each step
// is applied once, and neither fails.
TEST(Schema, ConcurrentOpenersApplyEachStepOnce) {
  temp_db file;
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    configure(db);  // WAL first, as the chat leaves it
  }
  std::vector<std::thread> openers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    openers.emplace_back([&] {
      try {
        sql::connection db(file.path(), std::chrono::seconds(5));
        migrate(db);
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : openers)
    t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(version_of(file.path()), schema_version);
}

}  // namespace
}  // namespace duplex::chat
