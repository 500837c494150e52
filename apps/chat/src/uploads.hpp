// Uploaded files: the blobs on disk (content-addressed, under the files directory, never the web
// root) and the uploads table in the chat's SQLite file (who uploaded what, for which feed, and
// whether a message carries it), with the rules of who may attach and who may fetch.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql.hpp"

namespace duplex::chat {

struct upload_record {
  std::string id;        // opaque, 32 hex digits: what messages and URLs name
  std::string sha256;    // hex: the blob's file name
  std::string uploader;  // the user's key
  std::string feed;      // the room (its key) or the conversation's feed it was uploaded for
  std::string name;      // sanitize_file_name
  std::string mime;      // one of image_probe's, or application/octet-stream
  std::int64_t size = 0;
  std::int64_t width = 0;  // 0 for a file that is no image
  std::int64_t height = 0;
  std::int64_t created_ms = 0;
  bool posted = false;  // a stored message carries it: its feed's readers may fetch it
  bool image() const noexcept { return width > 0; }
};

// The object a message carries in its `file` field (docs/chat-protocol.md, "Files").
std::string attachment_json(const upload_record& r);

// The uploads table (schema version 7), synchronous on the loop like the room directory.
class upload_store {
 public:
  explicit upload_store(const std::string& db_path);
  void add(const upload_record& r);
  std::optional<upload_record> find(std::string_view id);
  // Uploads of the user no message carries yet: bounded, so the table is.
  std::size_t unposted(std::string_view uploader);
  // The hub's check for a say or dm with `file`: the user's own upload for this feed, marked
  // posted (again, for a resend), or nothing.
  std::optional<upload_record> claim(std::string_view id, std::string_view uploader,
                                     std::string_view feed);
  // Forgets uploads never posted and made before `cutoff_ms`; returns the blobs (sha256) that
  // no upload names any more, for the caller to delete.
  std::vector<std::string> expire(std::int64_t cutoff_ms);
  bool names_blob(std::string_view sha256);

 private:
  sql::connection db_;
};

// One upload on its way to disk: a temporary file under <dir>/tmp, hashed as it is written.
// Destroyed before keep(), it removes its temporary file (an aborted or refused upload).
class blob_writer {
 public:
  // Throws std::system_error when the temporary file cannot be made.
  explicit blob_writer(const std::string& dir);
  ~blob_writer();
  blob_writer(const blob_writer&) = delete;
  blob_writer& operator=(const blob_writer&) = delete;
  // False with `errno_out` on a write error (ENOSPC: the disk is full).
  bool write(std::string_view piece, int& errno_out);
  std::int64_t size() const noexcept { return size_; }
  // The first bytes, for image_probe.
  const std::string& head() const noexcept { return head_; }
  // Moves the file to <dir>/<sha256> unless a blob of that content is there already; returns
  // the hash, or empty on failure (the temporary file is then removed).
  std::string keep();

 private:
  std::string dir_;
  std::string tmp_;
  int fd_ = -1;
  std::int64_t size_ = 0;
  std::string head_;
  crypto_hash_sha256_state hash_{};
};

// Makes <dir> and <dir>/tmp, and empties tmp (what a crash left). Throws std::system_error.
void prepare_files_dir(const std::string& dir);
// A new upload id: 16 random bytes in hex.
std::string new_upload_id();
// Whether `id` has the form new_upload_id gives (checked before any lookup or path).
bool valid_upload_id(std::string_view id) noexcept;

}  // namespace duplex::chat
