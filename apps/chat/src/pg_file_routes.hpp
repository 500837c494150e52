// The HTTP side of files with --pg (file_routes.hpp's routes, answered alike): an upload's body
// goes to PostgreSQL a chunk at a time, the body paused while each is written, and a download
// is read chunk by chunk on a worker; PostgreSQL down: 503 "files_unavailable".
#pragma once

#include "file_routes.hpp"
#include "pg_files.hpp"

namespace duplex::chat {

// Adds both routes and the hourly sweep of uploads never posted (or never finished). `store`
// and `access.rooms` must outlive the server's run; settings.dir is not used.
void add_pg_file_routes(server& srv, pg_file_store& store, const file_settings& settings,
                        file_access access);

}  // namespace duplex::chat
