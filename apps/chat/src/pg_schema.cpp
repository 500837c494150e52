#include "pg_schema.hpp"

#include <libpq-fe.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace duplex::chat {
namespace {

// Ids come from feeds.last_id, raised in the same statement as the insert (pg_store.cpp): they
// are dense per feed, and a Redis that forgets everything cannot make them start again.
constexpr const char* history_v1 =
    "CREATE TABLE feeds ("
    " feed text PRIMARY KEY,"
    " last_id bigint NOT NULL,"
    " is_room boolean NOT NULL);"
    "CREATE TABLE messages ("
    " feed text NOT NULL REFERENCES feeds (feed),"
    " id bigint NOT NULL,"
    " nick text NOT NULL,"
    " body text NOT NULL,"
    " ts_ms bigint NOT NULL,"
    " PRIMARY KEY (feed, id));"
    "CREATE TABLE conversations ("
    " user_key text NOT NULL,"
    " peer text NOT NULL,"
    " peer_name text NOT NULL,"
    " feed text NOT NULL,"
    " PRIMARY KEY (user_key, peer));"
    "CREATE TABLE read_marks ("
    " user_key text NOT NULL,"
    " feed text NOT NULL,"
    " last_id bigint NOT NULL,"
    " PRIMARY KEY (user_key, feed));";

// A say's client id and its author's key go with the message, and at most one message per
// (feed, author, cid): the unique index is what makes a resend through any node land once.
// Unlike SQLite's bounded `sent` table, every cid is kept: it is a few bytes of a stored row.
constexpr const char* client_ids_v2 =
    "ALTER TABLE messages ADD COLUMN cid text NOT NULL DEFAULT '';"
    "ALTER TABLE messages ADD COLUMN author text NOT NULL DEFAULT '';"
    "CREATE UNIQUE INDEX messages_once ON messages (feed, author, cid) WHERE cid <> '';";

// Search (pg_search.cpp): each message's words as a tsvector the database computes from the
// body, so that an erase or an edit (an UPDATE of the body) is followed whoever writes it, with
// a GIN index; search_key numbers messages in arrival order (the results' order and cursor).
// The 'simple' configuration: no stemming, whatever the language people write in.
constexpr const char* search_v3 =
    "ALTER TABLE messages ADD COLUMN search_key bigserial;"
    "ALTER TABLE messages ADD COLUMN words tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;"
    "CREATE INDEX messages_words ON messages USING gin (words);"
    "CREATE INDEX messages_search_key ON messages (search_key);";

// Edits, deletions, reactions and replies (issue 14, item 3): an entry is a message or an
// event (`kind`, `ref` its target; a message's `ref` is the one it replies to), and the message
// row holds its folded text and edit time, updated in the statement that stores each event
// (pg_store.cpp). Reactions are rows of their own, one per person and emoji, so that adding and
// taking one away are an insert and a delete; `seq` is the event's id, their order.
constexpr const char* events_v4 =
    "ALTER TABLE messages"
    " ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT '',"
    " ADD COLUMN IF NOT EXISTS ref bigint NOT NULL DEFAULT 0,"
    " ADD COLUMN IF NOT EXISTS edited bigint NOT NULL DEFAULT 0;"
    "CREATE TABLE IF NOT EXISTS reactions ("
    " feed text NOT NULL,"
    " id bigint NOT NULL,"
    " emoji text NOT NULL,"
    " nick text NOT NULL,"
    " seq bigint NOT NULL,"
    " PRIMARY KEY (feed, id, emoji, nick));";

// Retention per feed (pg_retention.hpp): NULL takes the node's --keep-days, 0 keeps the feed for
// ever; the age index is what each pruning batch scans, oldest first.
constexpr const char* retention_v5 =
    "ALTER TABLE feeds ADD COLUMN IF NOT EXISTS keep_days integer CHECK (keep_days >= 0);"
    "CREATE INDEX IF NOT EXISTS messages_age ON messages (ts_ms);";

// Accounts and sessions shared by every node (pg_accounts.cpp). A name is held through
// name_claims: one row per key ('k' first) and per look-alike key ('s' first) of each user's
// sign-in and display names, so that its primary key refuses the second of two nodes taking the
// same name, or one that looks the same, whichever column holds it. The token's SHA-256 only.
// A deleted session (sign-out, revocation, password change, ban) is announced on the channel
// duplex_sessions, at commit: every node's loop LISTENs, then checks its own sockets' sessions.
// Each statement may run again (IF NOT EXISTS), like step 4's.
constexpr const char* accounts_v6 =
    "CREATE TABLE IF NOT EXISTS users ("
    " id bigserial PRIMARY KEY,"
    " name text NOT NULL,"
    " name_key text NOT NULL UNIQUE,"
    " name_skeleton text NOT NULL UNIQUE,"
    " display_name text,"
    " display_key text UNIQUE,"
    " display_skeleton text UNIQUE,"
    " password_hash text NOT NULL,"
    " role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),"
    " banned boolean NOT NULL DEFAULT false,"
    " created_ms bigint NOT NULL,"
    " password_changed_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS name_claims ("
    " claim text PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE);"
    "CREATE INDEX IF NOT EXISTS name_claims_by_user ON name_claims (user_id);"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " id bigserial PRIMARY KEY,"
    " token_hash bytea NOT NULL UNIQUE,"
    " user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " created_ms bigint NOT NULL,"
    " last_seen_ms bigint NOT NULL,"
    " user_agent text NOT NULL,"
    " address text NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, last_seen_ms);"
    "CREATE OR REPLACE FUNCTION duplex_session_ended() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_notify('duplex_sessions', OLD.id::text); RETURN NULL; END $$;"
    "DROP TRIGGER IF EXISTS sessions_ended ON sessions;"
    "CREATE TRIGGER sessions_ended AFTER DELETE ON sessions"
    " FOR EACH ROW EXECUTE FUNCTION duplex_session_ended();";

// The room directory shared by every node (pg_directory.cpp): rooms with their owner, topic and
// invite-only flag, members with roles and mutes, bans and invitations, as SQLite's version 3.
// The room's name is its primary key, so that of two nodes creating the same room at once the
// second insert finds the first (room names are ASCII a-z, 0-9, - and _: no look-alike keys).
// Every change is announced at commit on the channel duplex_rooms, "<room>" for the room's own
// row and "<room> <user key>" for a member, ban or invitation (a room's name has no space), so
// that the nodes where that user or room has sockets act on it (pg_directory.hpp).
constexpr const char* rooms_v7 =
    "CREATE TABLE IF NOT EXISTS room_info ("
    " name text PRIMARY KEY,"
    " topic text NOT NULL DEFAULT '',"
    " owner text NOT NULL DEFAULT '',"
    " invite_only boolean NOT NULL DEFAULT false,"
    " created_ms bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS room_info_by_owner ON room_info (owner);"
    "CREATE TABLE IF NOT EXISTS room_members ("
    " room text NOT NULL REFERENCES room_info (name) ON DELETE CASCADE,"
    " user_key text NOT NULL,"
    " name text NOT NULL,"
    " role text NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),"
    " muted_until_ms bigint NOT NULL DEFAULT 0,"
    " PRIMARY KEY (room, user_key));"
    "CREATE INDEX IF NOT EXISTS room_members_by_user ON room_members (user_key);"
    "CREATE TABLE IF NOT EXISTS room_bans ("
    " room text NOT NULL REFERENCES room_info (name) ON DELETE CASCADE,"
    " user_key text NOT NULL,"
    " created_ms bigint NOT NULL,"
    " PRIMARY KEY (room, user_key));"
    "CREATE TABLE IF NOT EXISTS room_invites ("
    " room text NOT NULL REFERENCES room_info (name) ON DELETE CASCADE,"
    " user_key text NOT NULL,"
    " created_ms bigint NOT NULL,"
    " PRIMARY KEY (room, user_key));"
    "CREATE OR REPLACE FUNCTION duplex_room_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE r record; BEGIN"
    " IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;"
    " IF TG_TABLE_NAME = 'room_info' THEN PERFORM pg_notify('duplex_rooms', r.name);"
    " ELSE PERFORM pg_notify('duplex_rooms', r.room || ' ' || r.user_key); END IF;"
    " RETURN NULL; END $$;"
    "DROP TRIGGER IF EXISTS room_info_changed ON room_info;"
    "CREATE TRIGGER room_info_changed AFTER INSERT OR UPDATE OR DELETE ON room_info"
    " FOR EACH ROW EXECUTE FUNCTION duplex_room_changed();"
    "DROP TRIGGER IF EXISTS room_members_changed ON room_members;"
    "CREATE TRIGGER room_members_changed AFTER INSERT OR UPDATE OR DELETE ON room_members"
    " FOR EACH ROW EXECUTE FUNCTION duplex_room_changed();"
    "DROP TRIGGER IF EXISTS room_bans_changed ON room_bans;"
    "CREATE TRIGGER room_bans_changed AFTER INSERT OR UPDATE OR DELETE ON room_bans"
    " FOR EACH ROW EXECUTE FUNCTION duplex_room_changed();"
    "DROP TRIGGER IF EXISTS room_invites_changed ON room_invites;"
    "CREATE TRIGGER room_invites_changed AFTER INSERT OR UPDATE OR DELETE ON room_invites"
    " FOR EACH ROW EXECUTE FUNCTION duplex_room_changed();";

// Files shared by every node (pg_files.hpp). A message carries its attachment as JSON in `file`
// ('' for none), indexed by the upload's id for the retention job's "is it still carried?".
// An upload is a row, created when its body starts (`complete` once the last chunk is in,
// `posted` once a message carries it), and its content is rows of at most
// pg_file_store::chunk_bytes each, read and written one at a time so that no node holds a file
// twice; STORAGE EXTERNAL: no compression of content that is mostly compressed already.
// Each statement may run again (IF NOT EXISTS), like step 6's.
constexpr const char* files_v8 =
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS file text NOT NULL DEFAULT '';"
    "CREATE INDEX IF NOT EXISTS messages_file_id ON messages ((file::jsonb ->> 'id'))"
    " WHERE file <> '';"
    "CREATE TABLE IF NOT EXISTS uploads ("
    " id text PRIMARY KEY,"
    " sha256 text NOT NULL DEFAULT '',"
    " uploader text NOT NULL,"
    " feed text NOT NULL,"
    " name text NOT NULL,"
    " mime text NOT NULL DEFAULT '',"
    " size bigint NOT NULL DEFAULT 0,"
    " width bigint NOT NULL DEFAULT 0,"
    " height bigint NOT NULL DEFAULT 0,"
    " created_ms bigint NOT NULL,"
    " complete boolean NOT NULL DEFAULT false,"
    " posted boolean NOT NULL DEFAULT false);"
    "CREATE INDEX IF NOT EXISTS uploads_by_uploader ON uploads (uploader) WHERE NOT posted;"
    "CREATE INDEX IF NOT EXISTS uploads_unposted_age ON uploads (created_ms) WHERE NOT posted;"
    "CREATE TABLE IF NOT EXISTS upload_chunks ("
    " upload text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,"
    " seq integer NOT NULL,"
    " data bytea NOT NULL,"
    " PRIMARY KEY (upload, seq));"
    "ALTER TABLE upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;";

constexpr std::array<const char*, pg_schema_version> steps{history_v1,   client_ids_v2, search_v3,
                                                           events_v4,    retention_v5,  accounts_v6,
                                                           rooms_v7, files_v8};

// Any number: it only has to be the same in every node.
constexpr const char* lock = "SELECT pg_advisory_xact_lock(7244500215)";

using conn_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

result_ptr run(PGconn* c, const std::string& sql) {
  result_ptr r(PQexec(c, sql.c_str()), PQclear);
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string why = PQresultErrorMessage(r.get());
    while (!why.empty() && why.back() == '\n')
      why.pop_back();
    throw std::runtime_error("PostgreSQL schema: " + why);
  }
  return r;
}

int found_version(PGconn* c) {
  run(c, "CREATE TABLE IF NOT EXISTS duplex_schema_version (version integer NOT NULL)");
  auto r = run(c, "SELECT version FROM duplex_schema_version");
  if (PQntuples(r.get()) == 0) {
    run(c, "INSERT INTO duplex_schema_version VALUES (0)");
    return 0;
  }
  return std::atoi(PQgetvalue(r.get(), 0, 0));
}

}  // namespace

int pg_migrate(const std::string& conninfo) {
  conn_ptr c(PQconnectdb(conninfo.c_str()), PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c.get());
    while (!why.empty() && why.back() == '\n')
      why.pop_back();
    throw std::runtime_error("cannot reach PostgreSQL: " + why);
  }
  run(c.get(), "SET client_min_messages = warning");  // IF NOT EXISTS notices are no news
  run(c.get(), "BEGIN");
  run(c.get(), lock);
  const int version = found_version(c.get());
  if (version > pg_schema_version)
    throw std::runtime_error("PostgreSQL schema version " + std::to_string(version) +
                             " is newer than this duplex-chat knows (" +
                             std::to_string(pg_schema_version) + "): upgrade the binary");
  for (int v = version; v < pg_schema_version; ++v)
    run(c.get(), steps[static_cast<std::size_t>(v)]);
  run(c.get(), "UPDATE duplex_schema_version SET version = " + std::to_string(pg_schema_version));
  run(c.get(), "COMMIT");
  return version;
}

}  // namespace duplex::chat
