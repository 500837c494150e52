// The operator's `duplex-chat user` commands, on a real file, with the password on stdin.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <sstream>

#include "accounts/accounts_support.hpp"
#include "src/account_service.hpp"
#include "src/user_cli.hpp"

namespace duplex::chat {
namespace {

struct UserCli : ::testing::Test {
  int run(std::vector<std::string> args, const std::string& input = "") {
    CLI::App app;
    std::string db = file.path();
    app.add_option("--db", db);  // as main.cpp has it
    user_command cmd;
    add_user_commands(app, cmd);
    std::vector<const char*> argv{"duplex-chat"};
    for (const auto& a : args)
      argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return -1;
    }
    std::istringstream in(input);
    out.str({});
    err.str({});
    cli_context c{db, test::ascii_names, hash_cost::minimum(), {}, &in, &out, &err, false, {}};
    return run_user_command(cmd, c);
  }
  auth_result sign_in(account_service& s, std::string_view key, const char* pw) {
    std::optional<auth_result> r;
    s.sign_in(key, pw, {"127.0.0.1:1", "cli-test"}, [&](auth_result a) { r = a; });
    s.drain();
    loop.run();
    return r.value_or(auth_result{status::store_failed, {}, {}, {}, {}, 0});
  }
  account_config config() {
    account_config c;
    c.db_path = file.path();
    c.cost = hash_cost::minimum();
    return c;
  }
  test::temp_db file;
  test::manual_loop loop;
  std::ostringstream out, err;
};

TEST_F(UserCli, AddThenSignIn) {
  EXPECT_EQ(run({"user", "add", "Root", "--role", "admin"}, "correct horse\n"), 0) << err.str();
  EXPECT_NE(out.str().find("'Root' added"), std::string::npos) << out.str();
  account_service s(config(), loop.poster());
  const auto r = sign_in(s, "root", "correct horse");
  ASSERT_EQ(r.what, status::ok);
  EXPECT_EQ(r.who->role, role::admin);
  EXPECT_EQ(run({"user", "add", "ROOT"}, "another pass\n"), 1);  // taken
  EXPECT_EQ(run({"user", "add", "r00t"}, "another pass\n"), 1);  // looks like "root"
  EXPECT_NE(err.str().find("looks like"), std::string::npos) << err.str();
  EXPECT_EQ(run({"user", "add", "ruth"}, "another pass\n"), 0);
  EXPECT_EQ(run({"user", "add", "sam"}, "short\n"), 1);
  EXPECT_NE(err.str().find("too short"), std::string::npos) << err.str();
  EXPECT_EQ(run({"user", "add", "sam"}, ""), 1);  // no password given
  EXPECT_EQ(run({"user", "add", "s a m"}, "correct horse\n"), 1);
}

TEST_F(UserCli, PasswdEndsEverySession) {
  ASSERT_EQ(run({"user", "add", "tom"}, "correct horse\n"), 0);
  account_service s(config(), loop.poster());
  const auto before = sign_in(s, "tom", "correct horse");
  ASSERT_EQ(before.what, status::ok);
  EXPECT_EQ(run({"user", "passwd", "TOM"}, "battery staple\r\n"), 0) << err.str();
  EXPECT_NE(out.str().find("1 session(s) ended"), std::string::npos) << out.str();
  EXPECT_FALSE(s.authenticate(before.session->token).session);
  EXPECT_EQ(sign_in(s, "tom", "correct horse").what, status::bad_credentials);
  EXPECT_EQ(sign_in(s, "tom", "battery staple").what, status::ok);
  EXPECT_EQ(run({"user", "passwd", "nobody"}, "battery staple\n"), 1);
}

TEST_F(UserCli, RoleAndBan) {
  ASSERT_EQ(run({"user", "add", "uma"}, "correct horse\n"), 0);
  account_service s(config(), loop.poster());
  const auto in = sign_in(s, "uma", "correct horse");
  EXPECT_EQ(run({"user", "role", "uma", "admin"}), 0);
  EXPECT_EQ(s.authenticate(in.session->token).session->who.role, role::admin);
  EXPECT_EQ(run({"user", "role", "uma", "king"}), -1);  // refused by the parser
  EXPECT_EQ(run({"user", "ban", "uma"}), 0);
  EXPECT_FALSE(s.authenticate(in.session->token).session);
  EXPECT_EQ(sign_in(s, "uma", "correct horse").what, status::banned);
  EXPECT_EQ(run({"user", "unban", "uma"}), 0);
  EXPECT_EQ(sign_in(s, "uma", "correct horse").what, status::ok);
  EXPECT_EQ(run({"user", "ban", "nobody"}), 1);
  EXPECT_EQ(run({"user"}), -1);
}

TEST_F(UserCli, TheDatabaseOptionMayFollowTheCommand) {
  test::temp_db other;
  EXPECT_EQ(run({"user", "add", "wes", "--db", other.path()}, "correct horse\n"), 0) << err.str();
  EXPECT_EQ(run({"--db", other.path(), "user", "add", "wes"}, "correct horse\n"), 1);  // taken
  EXPECT_EQ(run({"user", "add", "wes"}, "correct horse\n"), 0);  // the default file: free
}

TEST_F(UserCli, ANewerDatabaseIsAnErrorNotACrash) {
  {
    sql::connection db(file.path(), std::chrono::seconds(1));
    db.exec("PRAGMA user_version = 999");
  }
  EXPECT_EQ(run({"user", "add", "vic"}, "correct horse\n"), 1);
  EXPECT_NE(err.str().find("newer"), std::string::npos) << err.str();
}

TEST_F(UserCli, OnlyAddStartsADatabase) {
  for (auto cmd : {std::vector<std::string>{"user", "list"},
                   {"user", "ban", "ann"},
                   {"user", "role", "ann", "admin"}}) {
    EXPECT_EQ(run(cmd), 1);
    EXPECT_NE(err.str().find("no chat database at"), std::string::npos) << err.str();
  }
  EXPECT_EQ(run({"user", "passwd", "ann"}, "correct horse\n"), 1);
  EXPECT_FALSE(std::filesystem::exists(file.path()));  // a mistyped --db leaves nothing behind
  ASSERT_EQ(run({"user", "add", "ann"}, "correct horse\n"), 0) << err.str();
  EXPECT_EQ(run({"user", "list"}), 0) << err.str();
}

TEST_F(UserCli, ListShowsRolesBansAndSessions) {
  ASSERT_EQ(run({"user", "add", "ann", "--role", "admin"}, "correct horse\n"), 0) << err.str();
  ASSERT_EQ(run({"user", "add", "bob"}, "battery staple\n"), 0) << err.str();
  {
    account_service s(config(), loop.poster());
    ASSERT_EQ(sign_in(s, "bob", "battery staple").what, status::ok);
  }
  ASSERT_EQ(run({"user", "ban", "ann"}), 0) << err.str();
  EXPECT_EQ(run({"user", "list"}), 0) << err.str();
  EXPECT_EQ(out.str(),
            "1\tann\tadmin\tbanned\t0 session(s)\n"
            "2\tbob\tuser\t1 session(s)\n"
            "2 user(s)\n");
}

}  // namespace
}  // namespace duplex::chat
