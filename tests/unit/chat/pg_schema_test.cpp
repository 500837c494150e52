// The PostgreSQL schema's migrations: from an empty database to the current version, a second
// run that changes nothing, and a database newer than the program refused.
#include "src/pg_schema.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

TEST(PgSchema, UpgradesAnEmptyDatabaseAndASecondRunChangesNothing) {
  PG_OR_SKIP(pg);
  const std::string db = pg->fresh_database();
  EXPECT_EQ(pg_migrate(pg->conninfo(db)), 0);
  pg->exec("INSERT INTO feeds VALUES ('lobby', 1, true)", db);
  pg->exec("INSERT INTO messages VALUES ('lobby', 1, 'ann', 'hi', 5)", db);
  EXPECT_EQ(pg_migrate(pg->conninfo(db)), pg_schema_version);
  // The data is still there and the version is recorded once.
  EXPECT_NO_THROW(
      pg->exec("DO $$ BEGIN IF (SELECT count(*) FROM messages) <> 1 OR"
               " (SELECT count(*) FROM duplex_schema_version) <> 1 THEN"
               " RAISE 'changed'; END IF; END $$",
               db));
  // The tables refuse what the store must never write: a message of no feed, an id twice.
  EXPECT_THROW(pg->exec("INSERT INTO messages VALUES ('nowhere', 1, 'a', 'b', 0)", db),
               std::runtime_error);
  EXPECT_THROW(pg->exec("INSERT INTO messages VALUES ('lobby', 1, 'a', 'b', 0)", db),
               std::runtime_error);
}

TEST(PgSchema, RefusesADatabaseNewerThanTheProgram) {
  PG_OR_SKIP(pg);
  const std::string db = pg->fresh_database();
  pg_migrate(pg->conninfo(db));
  pg->exec("UPDATE duplex_schema_version SET version = version + 1", db);
  try {
    pg_migrate(pg->conninfo(db));
    FAIL() << "a newer schema was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this duplex-chat"), std::string::npos);
  }
}

TEST(PgSchema, SaysWhenTheServerCannotBeReached) {
  try {
    pg_migrate("host=127.0.0.1 port=1 user=duplex connect_timeout=2");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach PostgreSQL"), std::string::npos);
  }
}

}  // namespace
}  // namespace duplex::chat
