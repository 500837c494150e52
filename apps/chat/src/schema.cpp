#include "schema.hpp"

#include <array>
#include <string>

namespace duplex::chat {
namespace {

// Users are never deleted (a ban keeps the name taken), so a name cannot be freed and taken by
// someone else. The key and the skeleton are UNIQUE so that the file itself refuses a second
// account whose name only differs by case or looks the same, whichever program writes it.
constexpr const char* accounts_v1 =
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " name_key TEXT NOT NULL UNIQUE,"
    " name_skeleton TEXT NOT NULL UNIQUE,"
    " password_hash TEXT NOT NULL,"
    " role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),"
    " banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),"
    " created_ms INTEGER NOT NULL,"
    " password_changed_ms INTEGER NOT NULL);"
    // AUTOINCREMENT: a revoked session's id is never given to a new one, so a stale
    // "revoke session 7" cannot sign out a later device.
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " token_hash BLOB NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL REFERENCES users (id),"
    " created_ms INTEGER NOT NULL,"
    " last_seen_ms INTEGER NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " address TEXT NOT NULL);"
    "CREATE INDEX sessions_by_user ON sessions (user_id, last_seen_ms);";

// A display name (shown in the chat) beside the sign-in name. Display names are unique among
// themselves (the indexes), and the triggers keep them apart from other users' sign-in names
// both ways, by key and by look-alike key: nobody can show up as, or sign in under, a name that
// looks like someone else's. A user's own two names may coincide.
constexpr const char* display_names_v2 =
    "ALTER TABLE users ADD COLUMN display_name TEXT;"
    "ALTER TABLE users ADD COLUMN display_key TEXT;"
    "ALTER TABLE users ADD COLUMN display_skeleton TEXT;"
    "CREATE UNIQUE INDEX users_display_key ON users (display_key);"
    "CREATE UNIQUE INDEX users_display_skeleton ON users (display_skeleton);"
    "CREATE TRIGGER users_display_free BEFORE UPDATE OF display_key, display_skeleton ON users"
    " WHEN NEW.display_key IS NOT NULL AND EXISTS (SELECT 1 FROM users WHERE id != NEW.id AND"
    " (name_key = NEW.display_key OR name_skeleton = NEW.display_skeleton))"
    " BEGIN SELECT RAISE(ABORT, 'the display name is another user''s sign-in name'); END;"
    "CREATE TRIGGER users_name_free BEFORE INSERT ON users"
    " WHEN EXISTS (SELECT 1 FROM users WHERE display_key = NEW.name_key"
    " OR display_skeleton = NEW.name_skeleton)"
    " BEGIN SELECT RAISE(ABORT, 'the name is another user''s display name'); END;";

// ----- rooms (version 3): the room directory, sqlite_directory.cpp. Users are keyed as the hub
// knows them (a signed-in user by its sign-in key, a guest by its nickname's), so a guest's ban
// needs no account. room_info, because
// `rooms` is the history's list of names (sqlite_store.cpp).
constexpr const char* rooms_v3 =
    "CREATE TABLE room_info ("
    " name TEXT PRIMARY KEY,"
    " topic TEXT NOT NULL DEFAULT '',"
    " owner TEXT NOT NULL DEFAULT '',"
    " invite_only INTEGER NOT NULL DEFAULT 0 CHECK (invite_only IN (0, 1)),"
    " created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX room_info_by_owner ON room_info (owner);"
    "CREATE TABLE room_members ("
    " room TEXT NOT NULL REFERENCES room_info (name),"
    " user_key TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),"
    " muted_until_ms INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (room, user_key)) WITHOUT ROWID;"
    "CREATE INDEX room_members_by_user ON room_members (user_key);"
    "CREATE TABLE room_bans ("
    " room TEXT NOT NULL REFERENCES room_info (name),"
    " user_key TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (room, user_key)) WITHOUT ROWID;"
    "CREATE TABLE room_invites ("
    " room TEXT NOT NULL REFERENCES room_info (name),"
    " user_key TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (room, user_key)) WITHOUT ROWID;";

// ----- private conversations and read marks (version 4): sqlite_store.cpp. Users are keyed as
// for room members. IF NOT EXISTS: a file written before these tables had a
// version of their own may hold them already.
constexpr const char* conversations_v4 =
    "CREATE TABLE IF NOT EXISTS conversations ("
    " user TEXT NOT NULL, peer TEXT NOT NULL, peer_name TEXT NOT NULL, feed TEXT NOT NULL,"
    " PRIMARY KEY (user, peer)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS read_marks ("
    " user TEXT NOT NULL, feed TEXT NOT NULL, last_read INTEGER NOT NULL,"
    " PRIMARY KEY (user, feed)) WITHOUT ROWID;";

// ----- account keys (version 5): until now the hub keyed a signed-in user by the key of the
// name it showed, its display name once it had one; it keys it by its sign-in key now (hub.hpp,
// attach). Rows under a user's current display key move to its sign-in key; where the user has
// rows under both (it joined a room before and after choosing a display name), the sign-in key's
// row stays. Conversations arrived with version 4, keyed right from the start in any release.
constexpr const char* account_keys_v5 =
    "CREATE TEMP TABLE rekey AS SELECT display_key AS old, name_key AS new FROM users"
    " WHERE display_key IS NOT NULL AND display_key != name_key;"
    "UPDATE room_info SET owner = (SELECT new FROM rekey WHERE old = owner)"
    " WHERE owner IN (SELECT old FROM rekey);"
    "UPDATE OR IGNORE room_members SET user_key = (SELECT new FROM rekey WHERE old = user_key)"
    " WHERE user_key IN (SELECT old FROM rekey);"
    "DELETE FROM room_members WHERE user_key IN (SELECT old FROM rekey);"
    "UPDATE OR IGNORE room_bans SET user_key = (SELECT new FROM rekey WHERE old = user_key)"
    " WHERE user_key IN (SELECT old FROM rekey);"
    "DELETE FROM room_bans WHERE user_key IN (SELECT old FROM rekey);"
    "UPDATE OR IGNORE room_invites SET user_key = (SELECT new FROM rekey WHERE old = user_key)"
    " WHERE user_key IN (SELECT old FROM rekey);"
    "DELETE FROM room_invites WHERE user_key IN (SELECT old FROM rekey);"
    "UPDATE OR IGNORE read_marks SET user = (SELECT new FROM rekey WHERE old = user)"
    " WHERE user IN (SELECT old FROM rekey);"
    "DELETE FROM read_marks WHERE user IN (SELECT old FROM rekey);"
    "DROP TABLE temp.rekey;";

// ----- client ids (version 6): a say's `cid` is kept with its message, and in `sent` per author
// (the user's key), so that a resend after a reconnect is answered with the first id instead of
// stored twice (sqlite_store::append_once). `sent` keeps an author's last store::max_sent_cids
// rows (by rowid); messages outlive them. The history table is sqlite_store's, and may not
// exist yet in a file that only held accounts: created here as version 0 had it. The column
// is added by add_missing_columns (no IF NOT EXISTS for columns): a file may hold it already.
constexpr const char* client_ids_v6 =
    "CREATE TABLE IF NOT EXISTS messages ("
    " room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,"
    " ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sent ("
    " author TEXT NOT NULL, feed TEXT NOT NULL, cid TEXT NOT NULL, id INTEGER NOT NULL,"
    " UNIQUE (author, feed, cid));"
    "CREATE INDEX IF NOT EXISTS sent_by_author ON sent (author);";

// ----- search (version 7): full text over every feed's messages (sqlite_search.cpp). FTS5's
// external content wants an integer key, and `messages` has none (WITHOUT ROWID, keyed by room
// and id): `search_keys` gives each message one, in the order messages arrive, which is also
// the order results come in (newest first). The index holds no copy of the text; snippets read
// it through `search_content`. The triggers keep the index in step with every write to
// `messages` whoever makes it: appends, pruning, a moderator's erase (the text becomes empty
// and leaves the index) and any later edit that UPDATEs the text. Existing rows are indexed
// here, oldest first, so that a file from an earlier version is searchable at once. IF NOT
// EXISTS: a file taken back to an earlier version number (by hand, or a test) may hold them.
constexpr const char* search_v7 =
    "CREATE TABLE IF NOT EXISTS search_keys ("
    " key INTEGER PRIMARY KEY, room TEXT NOT NULL, id INTEGER NOT NULL, UNIQUE (room, id));"
    "CREATE VIEW IF NOT EXISTS search_content AS SELECT k.key AS key, m.text AS text"
    " FROM search_keys k JOIN messages m ON m.room = k.room AND m.id = k.id;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(text, content = 'search_content',"
    " content_rowid = 'key', tokenize = 'unicode61 remove_diacritics 2');"
    "INSERT OR IGNORE INTO search_keys (room, id) SELECT room, id FROM messages ORDER BY ts, room, "
    "id;"
    "INSERT INTO search_index (search_index) VALUES ('rebuild');"
    "CREATE TRIGGER IF NOT EXISTS messages_search_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO search_keys (room, id) VALUES (new.room, new.id);"
    " INSERT INTO search_index (rowid, text)"
    "  SELECT key, new.text FROM search_keys WHERE room = new.room AND id = new.id; END;"
    "CREATE TRIGGER IF NOT EXISTS messages_search_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO search_index (search_index, rowid, text)"
    "  SELECT 'delete', key, old.text FROM search_keys WHERE room = old.room AND id = old.id;"
    " DELETE FROM search_keys WHERE room = old.room AND id = old.id; END;"
    "CREATE TRIGGER IF NOT EXISTS messages_search_update AFTER UPDATE OF text ON messages BEGIN"
    " INSERT INTO search_index (search_index, rowid, text)"
    "  SELECT 'delete', key, old.text FROM search_keys WHERE room = old.room AND id = old.id;"
    " INSERT INTO search_index (rowid, text)"
    "  SELECT key, new.text FROM search_keys WHERE room = new.room AND id = new.id; END;";

// ----- files (version 8): uploads (uploads.cpp), one row per upload: the blob it names on disk
// (sha256, shared by uploads of the same content), who uploaded it for which feed, and whether
// a message carries it (`posted`: the feed's readers may fetch it). Messages carry their
// attachment as a JSON object in `file` (add_missing_columns), '' for none.
constexpr const char* files_v8 =
    "CREATE TABLE IF NOT EXISTS uploads ("
    " id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, uploader TEXT NOT NULL, feed TEXT NOT NULL,"
    " name TEXT NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL, width INTEGER NOT NULL,"
    " height INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    " posted INTEGER NOT NULL DEFAULT 0 CHECK (posted IN (0, 1))) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS uploads_by_uploader ON uploads (uploader, posted);"
    "CREATE INDEX IF NOT EXISTS uploads_by_sha256 ON uploads (sha256);";

// ----- edits, deletions, reactions and replies (version 9, issue 14 item 3): an entry of the
// history is a message or an event on an earlier one (`kind`, `ref` its target; a message's
// `ref` is the one it replies to), and a message row also holds its folded state (its current
// text, when it was edited, its reactions as JSON), kept up to date in the transaction that
// stores each event (sqlite_store.cpp). `author` is the sender's user key: who may edit.
constexpr std::array<const char*, 5> events_v9_columns{
    "kind TEXT NOT NULL DEFAULT ''", "ref INTEGER NOT NULL DEFAULT 0",
    "author TEXT NOT NULL DEFAULT ''", "edited INTEGER NOT NULL DEFAULT 0",
    "reactions TEXT NOT NULL DEFAULT ''"};
// The columns come from add_missing_columns, as version 6's did.
constexpr const char* events_v9 = "";

bool has_column(sql::connection& db, const char* table, const char* column) {
  sql::statement st(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  st.bind(1, table).bind(2, column);
  return st.row();
}

// The columns a step brings, after its statements: `to` is the version it reaches.
void add_missing_columns(sql::connection& db, int to) {
  if (to == 6 && !has_column(db, "messages", "cid"))
    db.exec("ALTER TABLE messages ADD COLUMN cid TEXT NOT NULL DEFAULT '';");
  if (to == 8 && !has_column(db, "messages", "file"))
    db.exec("ALTER TABLE messages ADD COLUMN file TEXT NOT NULL DEFAULT '';");
  if (to != 9) return;
  for (const std::string column : events_v9_columns)
    if (!has_column(db, "messages", column.substr(0, column.find(' ')).c_str()))
      db.exec(("ALTER TABLE messages ADD COLUMN " + column + ";").c_str());
}

// steps[i] takes the file from version i to i + 1.
constexpr std::array<const char*, schema_version> steps{
    accounts_v1,     display_names_v2, rooms_v3, conversations_v4,
    account_keys_v5, client_ids_v6,    search_v7, files_v8, events_v9};

int user_version(sql::connection& db) {
  sql::statement st(db, "PRAGMA user_version");
  return st.row() ? static_cast<int>(st.integer(0)) : 0;
}

}  // namespace

void configure(sql::connection& db) {
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

int migrate(sql::connection& db) {
  const int found = user_version(db);
  if (found > schema_version)
    throw std::runtime_error("the database is at schema version " + std::to_string(found) +
                             ", newer than this duplex-chat (" + std::to_string(schema_version) +
                             "): use a newer duplex-chat or a backup");
  for (int v = found; v < schema_version; ++v) {
    sql::transaction tx(db);
    // Read again under the write lock: another process may have done this step meanwhile.
    const int now = user_version(db);
    if (now > v) {
      v = now - 1;
      continue;
    }
    db.exec(steps[static_cast<std::size_t>(v)]);
    add_missing_columns(db, v + 1);
    db.exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    tx.commit();
  }
  return found;
}

}  // namespace duplex::chat
