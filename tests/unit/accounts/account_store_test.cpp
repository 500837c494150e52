// Registered users: one account per name key and per skeleton, enforced by the file itself.
#include <gtest/gtest.h>

#include "accounts/accounts_support.hpp"
#include "src/accounts.hpp"
#include "src/schema.hpp"

namespace duplex::chat {
namespace {

using test::claim;

struct AccountStore : ::testing::Test {
  AccountStore() : db(file.path(), std::chrono::seconds(1)), users(db) {
    configure(db);
    migrate(db);
  }
  test::temp_db file;
  sql::connection db;
  account_store users;
};

TEST_F(AccountStore, RegistersAndFindsByIdAndKey) {
  std::int64_t id = 0;
  ASSERT_EQ(users.create(claim("Alice"), "h1", role::user, 42, &id), create_result::created);
  const auto by_key = users.by_key("alice");
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->id, id);
  EXPECT_EQ(by_key->name, "Alice");
  EXPECT_EQ(by_key->role, role::user);
  EXPECT_FALSE(by_key->banned);
  EXPECT_EQ(by_key->created_ms, 42);
  EXPECT_EQ(users.by_id(id)->key, "alice");
  EXPECT_EQ(users.password_hash(id), "h1");
  EXPECT_FALSE(users.by_key("Alice"));  // looked up by key, never by display form
  EXPECT_FALSE(users.by_id(id + 1));
}

TEST_F(AccountStore, RefusesTheSameKeyAndALookAlike) {
  ASSERT_EQ(users.create(claim("alice"), "h", role::user, 1), create_result::created);
  EXPECT_EQ(users.check_name(claim("ALICE")), create_result::name_taken);
  EXPECT_EQ(users.create(claim("ALICE"), "h", role::user, 1), create_result::name_taken);
  EXPECT_EQ(users.check_name(claim("a1ice")), create_result::name_look_alike);
  EXPECT_EQ(users.create(claim("a1ice"), "h", role::user, 1), create_result::name_look_alike);
  EXPECT_EQ(users.check_name(claim("alicia")), create_result::created);
  EXPECT_EQ(users.create(claim("alicia"), "h", role::user, 1), create_result::created);
}

// The constraints live in the schema: any writer of the file is refused, not only this class.
TEST_F(AccountStore, TheDatabaseItselfRefusesADuplicateSkeleton) {
  ASSERT_EQ(users.create(claim("bob"), "h", role::user, 1), create_result::created);
  EXPECT_THROW(db.exec("INSERT INTO users (name, name_key, name_skeleton, password_hash,"
                       " created_ms, password_changed_ms) VALUES ('b0b', 'b0b', 'bob', 'h', 1, 1)"),
               sql::error);
  EXPECT_THROW(db.exec("INSERT INTO users (name, name_key, name_skeleton, password_hash,"
                       " created_ms, password_changed_ms) VALUES ('BOB', 'bob', 'x', 'h', 1, 1)"),
               sql::error);
  EXPECT_THROW(db.exec("UPDATE users SET role = 'owner'"), sql::error);
}

TEST_F(AccountStore, RolesBansAndPasswords) {
  std::int64_t id = 0;
  ASSERT_EQ(users.create(claim("carol"), "old", role::user, 1, &id), create_result::created);
  EXPECT_TRUE(users.set_role(id, role::admin));
  EXPECT_EQ(users.by_id(id)->role, role::admin);
  EXPECT_TRUE(users.set_banned(id, true));
  EXPECT_TRUE(users.by_id(id)->banned);
  EXPECT_TRUE(users.set_banned(id, false));
  EXPECT_FALSE(users.by_id(id)->banned);
  EXPECT_FALSE(users.replace_password_hash(id, "not the old one", "new"));
  EXPECT_EQ(users.password_hash(id), "old");
  EXPECT_TRUE(users.replace_password_hash(id, "old", "rehashed"));
  EXPECT_TRUE(users.set_password_hash(id, "changed", 5));
  EXPECT_EQ(users.password_hash(id), "changed");
  EXPECT_FALSE(users.set_role(id + 7, role::admin));
  EXPECT_FALSE(users.set_banned(id + 7, true));
  EXPECT_EQ(parse_role("admin"), role::admin);
  EXPECT_FALSE(parse_role("root"));
}

// A display name may differ from the sign-in name; display and sign-in names of different users
// may neither be the same nor look the same, whichever came first. A user's own may coincide.
TEST_F(AccountStore, DisplayNamesAreUniqueAgainstEveryName) {
  std::int64_t alice = 0, bob = 0;
  ASSERT_EQ(users.create(claim("alice"), "h", role::user, 1, &alice), create_result::created);
  ASSERT_EQ(users.create(claim("bob"), "h", role::user, 1, &bob), create_result::created);
  EXPECT_EQ(users.by_id(alice)->shown(), "alice");
  EXPECT_EQ(users.set_display(alice, claim("Wonder")), create_result::created);
  EXPECT_EQ(users.by_id(alice)->display, "Wonder");
  EXPECT_EQ(users.by_id(alice)->shown(), "Wonder");
  EXPECT_EQ(users.by_key("alice")->name, "alice");  // she still signs in as alice
  EXPECT_EQ(users.set_display(alice, claim("ALICE")), create_result::created);  // her own name
  EXPECT_EQ(users.set_display(alice, claim("Wonder")), create_result::created);

  EXPECT_EQ(users.set_display(bob, claim("WONDER")), create_result::name_taken);
  EXPECT_EQ(users.set_display(bob, claim("w0nder")), create_result::name_look_alike);
  EXPECT_EQ(users.set_display(bob, claim("Alice")), create_result::name_taken);
  EXPECT_EQ(users.set_display(bob, claim("a1ice")), create_result::name_look_alike);
  EXPECT_EQ(users.by_id(bob)->display, "");  // nothing was changed by a refusal

  EXPECT_EQ(users.check_name(claim("wonder")), create_result::name_taken);
  EXPECT_EQ(users.create(claim("wonder"), "h", role::user, 1), create_result::name_taken);
  EXPECT_EQ(users.create(claim("w0nder"), "h", role::user, 1), create_result::name_look_alike);
  EXPECT_EQ(users.set_display(alice, std::nullopt), create_result::created);  // back to alice
  EXPECT_EQ(users.by_id(alice)->shown(), "alice");
  EXPECT_EQ(users.create(claim("wonder"), "h", role::user, 1), create_result::created);
  EXPECT_EQ(users.set_display(alice, claim("W0NDER")), create_result::name_look_alike);
}

// The triggers hold for any writer of the file, not only this class.
TEST_F(AccountStore, TheDatabaseItselfKeepsDisplayNamesApart) {
  ASSERT_EQ(users.create(claim("carol"), "h", role::user, 1), create_result::created);
  ASSERT_EQ(users.create(claim("dave"), "h", role::user, 1), create_result::created);
  EXPECT_THROW(db.exec("UPDATE users SET display_name = 'c', display_key = 'x',"
                       " display_skeleton = 'carol' WHERE name_key = 'dave'"),
               sql::error);
  db.exec(
      "UPDATE users SET display_name = 'D', display_key = 'dee', display_skeleton = 'dee'"
      " WHERE name_key = 'dave'");
  EXPECT_THROW(db.exec("INSERT INTO users (name, name_key, name_skeleton, password_hash,"
                       " created_ms, password_changed_ms) VALUES ('x', 'x', 'dee', 'h', 1, 1)"),
               sql::error);
}

// A rule that now sees I as l and ignores case (as the names module's did, once, not).
std::string upper_il(std::string_view name) {
  std::string s(name);
  for (auto& ch : s) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (ch == 'I') ch = 'L';
  }
  return s;
}

std::string stored(sql::connection& db, const char* column, std::string_view name) {
  const std::string q =
      std::string("SELECT coalesce(") + column + ", '') FROM users WHERE name = ?";
  sql::statement st(db, q.c_str());
  st.bind(1, name);
  return st.row() ? st.text(0) : "none";
}

TEST_F(AccountStore, StoredLookAlikeKeysFollowTheRulesOfTheDay) {
  std::int64_t bob = 0;
  ASSERT_EQ(users.create(claim("kai"), "h", role::user, 1), create_result::created);
  ASSERT_EQ(users.create(claim("kal"), "h", role::user, 1), create_result::created);
  ASSERT_EQ(users.create(claim("bob"), "h", role::user, 1, &bob), create_result::created);
  ASSERT_EQ(users.set_display(bob, claim("Bobby")), create_result::created);
  // kai takes KAL first; kal cannot have it too, keeps its old key and is reported.
  EXPECT_EQ(users.refresh_skeletons(upper_il), std::vector<std::string>{"kal"});
  EXPECT_EQ(stored(db, "name_skeleton", "kai"), "KAL");
  EXPECT_EQ(stored(db, "name_skeleton", "kal"), "kal");
  EXPECT_EQ(stored(db, "name_skeleton", "bob"), "BOB");
  EXPECT_EQ(stored(db, "display_skeleton", "bob"), "BOBBY");
  EXPECT_EQ(users.check_name({"BOBBY", "bobby2", "BOBBY"}), create_result::name_look_alike);
  EXPECT_EQ(users.check_name({"KAI", "kai2", "KAL"}), create_result::name_look_alike);
  // Again: nothing changes, the same conflict is reported; an empty answer changes nothing.
  EXPECT_EQ(users.refresh_skeletons(upper_il), std::vector<std::string>{"kal"});
  EXPECT_TRUE(users.refresh_skeletons([](std::string_view) { return std::string(); }).empty());
  EXPECT_EQ(stored(db, "name_skeleton", "bob"), "BOB");
}

}  // namespace
}  // namespace duplex::chat
