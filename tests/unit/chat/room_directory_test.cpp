// Both room directories keep the same promises; the SQLite one keeps them across a restart and
// upgrades a database written by an earlier duplex-chat in place. And the operator's limits
// read from flags and from --config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "src/chat_limits.hpp"
#include "src/schema.hpp"
#include "src/sqlite_directory.hpp"
#include "src/sqlite_store.hpp"

namespace duplex::chat {
namespace {

class temp_dir {
 public:
  temp_dir()
      : path_(std::filesystem::temp_directory_path() /
              ("duplex-rooms-" + std::to_string(::getpid()) + "-" + std::to_string(count()++))) {
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  static int& count() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

int version_of(const std::string& path) {
  sql::connection db(path, std::chrono::seconds(1));
  sql::statement st(db, "PRAGMA user_version");
  return st.row() ? static_cast<int>(st.integer(0)) : -1;
}

class Directory : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam())
      dir_ = std::make_unique<sqlite_directory>(tmp_.file("chat.db"));
    else
      dir_ = std::make_unique<memory_directory>();
  }
  temp_dir tmp_;
  std::unique_ptr<room_directory> dir_;
};

TEST_P(Directory, RoomsMembersBansAndInvitations) {
  room_directory& d = *dir_;
  EXPECT_FALSE(d.find("team"));
  EXPECT_TRUE(d.create({"team", "weekly 100% plans", "alice", false, 5}));
  EXPECT_FALSE(d.create({"team", "again", "bob", false, 6}));
  EXPECT_TRUE(d.create({"other", "", "", true, 7}));
  d.put_member("team", {"alice", "Alice", room_role::owner, 0});
  d.put_member("team", {"bob", "Bob", room_role::member, 0});
  d.put_member("team", {"carol", "Carol", room_role::moderator, 42});
  d.put_member("other", {"bob", "Bob", room_role::member, 0});
  EXPECT_EQ(d.member_count("team"), 3u);
  EXPECT_EQ(d.member("team", "carol")->muted_until_ms, 42);
  EXPECT_EQ(d.member("team", "carol")->role, room_role::moderator);
  const auto members = d.members("team", 10);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].user, "alice");  // owner, moderators, then the rest
  EXPECT_EQ(members[1].user, "carol");
  EXPECT_EQ(d.members("team", 1).size(), 1u);
  EXPECT_EQ(d.rooms_of("bob"), (std::vector<std::string>{"other", "team"}));
  EXPECT_EQ(d.owned_by("alice"), 1u);
  auto found = d.search("PLANS", 10);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].members, 3u);
  EXPECT_EQ(d.search("100%", 10).size(), 1u);
  EXPECT_EQ(d.search("1_0", 10).size(), 0u);  // '_' is no wildcard
  EXPECT_EQ(d.search("", 10).size(), 2u);
  EXPECT_EQ(d.search("", 1).size(), 1u);
  d.remove_member("team", "bob");
  EXPECT_FALSE(d.member("team", "bob"));
  EXPECT_EQ(d.rooms_of("bob"), (std::vector<std::string>{"other"}));
  d.set_banned("team", "bob", true);
  d.set_banned("team", "bob", true);
  EXPECT_TRUE(d.banned("team", "bob"));
  EXPECT_FALSE(d.banned("other", "bob"));
  d.set_banned("team", "bob", false);
  EXPECT_FALSE(d.banned("team", "bob"));
  d.set_invited("other", "dan", true);
  EXPECT_TRUE(d.invited("other", "dan"));
  d.set_invited("other", "dan", false);
  EXPECT_FALSE(d.invited("other", "dan"));
  auto rec = *d.find("team");
  rec.topic = "new";
  rec.owner = "carol";
  d.update(rec);
  EXPECT_EQ(d.find("team")->topic, "new");
  EXPECT_EQ(d.owned_by("carol"), 1u);
  d.set_banned("team", "mallory", true);
  d.remove_room("team");
  EXPECT_FALSE(d.find("team"));
  EXPECT_FALSE(d.member("team", "alice"));
  EXPECT_FALSE(d.banned("team", "mallory"));
  EXPECT_EQ(d.rooms_of("alice"), std::vector<std::string>{});
  EXPECT_TRUE(d.find("other"));
}

INSTANTIATE_TEST_SUITE_P(Backends, Directory, testing::Values(false, true),
                         [](const auto& p) { return p.param ? "sqlite" : "memory"; });

TEST(SqliteDirectory, OutlivesARestart) {
  temp_dir tmp;
  {
    sqlite_directory d(tmp.file("chat.db"));
    d.create({"team", "t", "alice", true, 1});
    d.put_member("team", {"alice", "Alice", room_role::owner, 0});
    d.set_banned("team", "mallory", true);
  }
  sqlite_directory d(tmp.file("chat.db"));
  EXPECT_TRUE(d.find("team")->invite_only);
  EXPECT_EQ(d.member("team", "alice")->role, room_role::owner);
  EXPECT_TRUE(d.banned("team", "mallory"));
}

// A file of today's history store (version 0) and one with accounts (the version before the
// directory's) both gain the directory's tables; history and accounts stay.
TEST(SqliteDirectory, UpgradesAnEarlierDatabaseInPlace) {
  temp_dir tmp;
  const std::string path = tmp.file("chat.db");
  std::vector<std::function<void()>> posted;
  auto post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); };
  {
    // Version 0: history only, as the first sqlite_store wrote it.
    sql::connection db(path, std::chrono::seconds(1));
    db.exec(
        "CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL,"
        " text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
        "CREATE TABLE rooms (name TEXT PRIMARY KEY) WITHOUT ROWID;"
        "INSERT INTO messages VALUES ('general', 1, 'ann', 'before the upgrade', 1000);"
        "INSERT INTO rooms VALUES ('general');");
  }
  ASSERT_EQ(version_of(path), 0);
  {
    sqlite_directory d(path);
    EXPECT_TRUE(d.create({"general", "", "", false, 1}));
  }
  EXPECT_EQ(version_of(path), schema_version);
  // The version before the directory's (2) is this one without its tables and the later ones':
  // made so, then upgraded.
  {
    sql::connection db(path, std::chrono::seconds(1));
    db.exec(
        "DROP TABLE room_members; DROP TABLE room_bans; DROP TABLE room_invites;"
        " DROP TABLE room_info; DROP TABLE conversations; DROP TABLE read_marks;"
        " INSERT INTO users (name, name_key, name_skeleton,"
        " password_hash, created_ms, password_changed_ms) VALUES ('ann', 'ann', 'ann', 'h', 1, 1);"
        " PRAGMA user_version = 2;");
  }
  {
    sqlite_directory d(path);
    EXPECT_FALSE(d.find("general"));
    EXPECT_TRUE(d.create({"general", "", "", false, 1}));
  }
  EXPECT_EQ(version_of(path), schema_version);
  sql::connection db(path, std::chrono::seconds(1));
  sql::statement users(db, "SELECT COUNT(*) FROM users");
  ASSERT_TRUE(users.row());
  EXPECT_EQ(users.integer(0), 1);
  sqlite_store again(path, post);
  std::vector<stored_message> lines;
  again.before("general", 100, 10, [&](bool, std::vector<stored_message> m) { lines = m; });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "before the upgrade");
}

TEST(Limits, FlagsAndAConfigFileSetThemAndFlagsWin) {
  temp_dir tmp;
  const std::string conf = tmp.file("chat.toml");
  std::ofstream(conf) << "rate = 50\nburst = 200\nrooms-per-user = 40\nmembers-per-room = 5000\n"
                         "message-bytes = 8192\nhistory-page = 25\nsignin-account-burst = 3\n"
                         "signin-account-every = 120\n";
  CLI::App app;
  chat_limits limits;
  add_limit_flags(app, limits);
  std::vector<std::string> args{"--history-page", "30", "--config", conf};
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  app.parse(args);
  EXPECT_EQ(limits.hub.rate_per_second, 50);
  EXPECT_EQ(limits.hub.burst, 200);
  EXPECT_EQ(limits.hub.max_rooms_per_user, 40u);
  EXPECT_EQ(limits.hub.max_members_per_room, 5000u);
  EXPECT_EQ(limits.hub.max_text_bytes, 8192u);
  EXPECT_EQ(limits.hub.history_page, 30u);  // the flag, over the file
  EXPECT_EQ(limits.signin.account.burst, 3);
  EXPECT_EQ(limits.signin.account.every, std::chrono::seconds(120));
  EXPECT_EQ(limits.hub.max_owned_rooms, hub_limits{}.max_owned_rooms);  // untouched: default
}

TEST(Limits, OutOfRangeValuesAreRefused) {
  CLI::App app;
  chat_limits limits;
  add_limit_flags(app, limits);
  EXPECT_THROW(app.parse(std::vector<std::string>{"0", "--rooms-per-user"}), CLI::ValidationError);
  EXPECT_THROW(app.parse(std::vector<std::string>{"-1", "--rate"}), CLI::ParseError);
}

}  // namespace
}  // namespace duplex::chat
