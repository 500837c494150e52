// The chat database's schema version (PRAGMA user_version) and the steps that bring an older
// file, one made by any earlier duplex-chat, to the current version in place.
#pragma once

#include "sql.hpp"

namespace duplex::chat {

// Version 0: history only (messages, rooms), as sqlite_store creates it. Version 1: accounts
// and sessions. Version 2: display names. Version 3: the room directory (rooms with owners,
// members, bans, invitations). Version 4: private conversations and read marks. Version 5:
// users keyed by their sign-in key, not their display name's. Version 6: client ids of messages
// (`cid`) and each author's last ones. Version 7: the full-text index of messages (search).
// Version 8: uploaded files, and messages' attachments. Version 9: edits, deletions, reactions
// and replies. A later step appends to the list in schema.cpp and raises this number.
inline constexpr int schema_version = 9;

// Applies every missing step, each in its own IMMEDIATE transaction together with the version
// it reaches, so two processes opening one file at once apply each step once, and a crash
// leaves the file at a version it really has. Returns the version found. Throws sql::error,
// and std::runtime_error for a file newer than this program.
int migrate(sql::connection& db);

// Settings each of the chat's connections wants: WAL (as sqlite_store), foreign keys.
void configure(sql::connection& db);

}  // namespace duplex::chat
