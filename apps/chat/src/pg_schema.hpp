// The PostgreSQL database's schema version (table duplex_schema_version) and the steps that bring
// an empty or older database to the current version, run by every node at start.
#pragma once

#include <string>

namespace duplex::chat {

// Version 1: feeds (rooms and private conversations) with their id counters, messages,
// conversations and read marks (pg_store.cpp). Version 2: each message's client id and author,
// unique per feed (a resend lands once). Version 3: the words of each message for search
// (pg_search.cpp). Version 4: edits, deletions, reactions and replies. Version 5: retention
// per feed (pg_retention.hpp). Version 6: accounts, the names they hold, and sessions
// (pg_accounts.hpp). Version 7: the room directory. Version 8: files (pg_files.hpp), and
// messages' attachments. A later step appends to the list in pg_schema.cpp and raises this number.
inline constexpr int pg_schema_version = 8;

// Connects (blocking: nodes migrate before they serve) and applies every missing step in one
// transaction under an advisory lock, so nodes starting together apply each step once and a
// failure leaves the database as it was. Returns the version found before. Throws
// std::runtime_error with the server's message, or for a database newer than this program.
int pg_migrate(const std::string& conninfo);

}  // namespace duplex::chat
