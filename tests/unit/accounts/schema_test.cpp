// The schema version, and the upgrade of a database that an earlier duplex-chat wrote.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "accounts/accounts_support.hpp"
#include "src/accounts.hpp"
#include "src/conversations.hpp"
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

// A file written by the history store before accounts (version 0: messages and rooms) gains
// the later tables; its history stays readable by the history store.
TEST(Schema, UpgradesAChatDatabaseInPlace) {
  temp_db file;
  std::vector<std::function<void()>> posted;
  auto post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); };
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    db.exec(
        "CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL,"
        " text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
        "CREATE TABLE rooms (name TEXT PRIMARY KEY) WITHOUT ROWID;"
        "INSERT INTO messages VALUES ('general', 1, 'ann', 'line 0', 1000),"
        " ('general', 2, 'ann', 'line 1', 1001), ('general', 3, 'ann', 'line 2', 1002);"
        "INSERT INTO rooms VALUES ('general');");
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

bool has_table(const std::string& path, const char* name) {
  sql::connection db(path, std::chrono::seconds(1));
  sql::statement st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  st.bind(1, name);
  return st.row();
}

// A file as duplex-chat with rooms but before conversations left it: history, a user, a room
// with its owner, at version 3.
void write_version_3(const std::string& path) {
  {
    sqlite_store store(path, [](std::function<void()> fn) { fn(); });
    store.append({"general", 0, "ann", "from version 3", 1000}, nullptr);
    store.flush();
  }
  sql::connection db(path, std::chrono::seconds(1));
  db.exec(
      "DROP TABLE conversations; DROP TABLE read_marks;"
      " INSERT INTO users (name, name_key, name_skeleton, password_hash, created_ms,"
      " password_changed_ms) VALUES ('ann', 'ann', 'ann', 'h', 1, 1);"
      " INSERT INTO room_info (name, topic, owner, created_ms) VALUES ('general', 't', 'ann', 1);"
      " INSERT INTO room_members (room, user_key, name, role) VALUES"
      " ('general', 'ann', 'ann', 'owner');"
      " PRAGMA user_version = 3;");
}

std::int64_t count_rows(const std::string& path, const char* table) {
  sql::connection db(path, std::chrono::seconds(1));
  sql::statement st(db, (std::string("SELECT COUNT(*) FROM ") + table).c_str());
  return st.row() ? st.integer(0) : -1;
}

TEST(Schema, AVersion3DatabaseGetsConversationsAndReadMarksInPlace) {
  ASSERT_GE(schema_version, 4);
  temp_db file;
  const std::string path = file.path();
  write_version_3(path);
  ASSERT_EQ(version_of(path), 3);
  ASSERT_FALSE(has_table(path, "read_marks"));
  const std::string feed = conversations::feed_of("ann", "bob");
  {
    sqlite_store store(path, [](std::function<void()> fn) { fn(); });
    EXPECT_EQ(version_of(path), schema_version);
    store.set_read("ann", "general", 1);
    store.add_conversation(feed, "ann", "Ann", "bob", "Bob");
    store.append({feed, 0, "Bob", "hello", 2000}, nullptr);
    store.flush();
  }
  // What version 3 held is still there.
  EXPECT_EQ(count_rows(path, "users"), 1);
  EXPECT_EQ(count_rows(path, "room_members"), 1);
  // And what version 4 added outlives a restart.
  sqlite_store again(path, [](std::function<void()> fn) { fn(); });
  bool ok = false;
  user_record rec;
  again.load_user("ann", [&](bool k, user_record r) {
    ok = k;
    rec = std::move(r);
  });
  ASSERT_TRUE(ok);
  ASSERT_EQ(rec.read_marks.size(), 1u);
  EXPECT_EQ(rec.read_marks[0], (std::pair<std::string, std::int64_t>{"general", 1}));
  ASSERT_EQ(rec.conversations.size(), 1u);
  EXPECT_EQ(rec.conversations[0].peer, "bob");
  EXPECT_EQ(rec.conversations[0].peer_name, "Bob");
  EXPECT_EQ(rec.conversations[0].last_id, 1);
  std::vector<stored_message> lines;
  again.before("general", 100, 10, [&](bool, std::vector<stored_message> m) { lines = m; });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "from version 3");
}

// A file from before the merge of conversations into the versions held the two tables already,
// created by the store at version 2 or 3: the step takes it to 4 without losing them.
TEST(Schema, TablesMadeBeforeTheirVersionAreKept) {
  temp_db file;
  const std::string path = file.path();
  {
    sqlite_store store(path, [](std::function<void()> fn) { fn(); });
    store.set_read("ann", "general", 7);
    store.flush();
  }
  {
    sql::connection db(path, std::chrono::seconds(1));
    db.exec("PRAGMA user_version = 3;");
  }
  sqlite_store again(path, [](std::function<void()> fn) { fn(); });
  EXPECT_EQ(version_of(path), schema_version);
  user_record rec;
  again.load_user("ann", [&](bool, user_record r) { rec = std::move(r); });
  ASSERT_EQ(rec.read_marks.size(), 1u);
  EXPECT_EQ(rec.read_marks[0].second, 7);
}

// Version 4 keyed a user with a display name by that name's key; version 5 moves its rows to
// its sign-in key, where the hub looks for them now, and keeps one row where it had two.
TEST(Schema, Version5KeysUsersByTheirSignInName) {
  temp_db file;
  const std::string path = file.path();
  {
    sql::connection db(path, std::chrono::seconds(1));
    configure(db);
    migrate(db);
    db.exec(
        "INSERT INTO users (name, name_key, name_skeleton, password_hash, created_ms,"
        " password_changed_ms) VALUES ('alice', 'alice', 'alice', 'h', 1, 1),"
        " ('bob', 'bob', 'bob', 'h', 1, 1);"
        "UPDATE users SET display_name = 'Alicia', display_key = 'alicia',"
        " display_skeleton = 'alicia' WHERE name_key = 'alice';"
        "INSERT INTO room_info (name, owner, created_ms) VALUES ('team', 'alicia', 1),"
        " ('general', '', 1);"
        "INSERT INTO room_members (room, user_key, name, role) VALUES"
        " ('team', 'alicia', 'Alicia', 'owner'), ('team', 'bob', 'bob', 'member'),"
        " ('general', 'alice', 'alice', 'member'), ('general', 'alicia', 'Alicia', 'member');"
        "INSERT INTO room_bans (room, user_key, created_ms) VALUES ('general', 'alicia', 1);"
        "INSERT INTO read_marks (user, feed, last_read) VALUES ('alicia', 'team', 5);"
        "PRAGMA user_version = 4;");
  }
  sql::connection db(path, std::chrono::seconds(1));
  configure(db);
  EXPECT_EQ(migrate(db), 4);
  EXPECT_EQ(version_of(path), schema_version);
  auto rows = [&](const char* query) {
    std::vector<std::string> out;
    sql::statement st(db, query);
    while (st.row())
      out.push_back(st.text(0));
    return out;
  };
  EXPECT_EQ(rows("SELECT owner FROM room_info WHERE name = 'team'"),
            std::vector<std::string>{"alice"});
  EXPECT_EQ(rows("SELECT user_key || ' ' || role FROM room_members WHERE room = 'team'"
                 " ORDER BY user_key"),
            (std::vector<std::string>{"alice owner", "bob member"}));
  EXPECT_EQ(rows("SELECT user_key FROM room_members WHERE room = 'general'"),
            std::vector<std::string>{"alice"});
  EXPECT_EQ(rows("SELECT user_key FROM room_bans"), std::vector<std::string>{"alice"});
  EXPECT_EQ(rows("SELECT user || ' ' || last_read FROM read_marks"),
            std::vector<std::string>{"alice 5"});
}

// The history store refuses a newer file too, whichever part of the chat opens it first.
TEST(Schema, TheHistoryStoreRefusesAFileFromANewerProgram) {
  temp_db file;
  const std::string path = file.path();
  {
    sql::connection db(path, std::chrono::seconds(1));
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version + 1)).c_str());
  }
  EXPECT_THROW(sqlite_store(path, [](std::function<void()> fn) { fn(); }), std::runtime_error);
  EXPECT_EQ(version_of(path), schema_version + 1);
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
