#include "uploads.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "image_probe.hpp"
#include "schema.hpp"

namespace duplex::chat {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  std::string out(n * 2, '\0');
  sodium_bin2hex(out.data(), out.size() + 1, bytes, n);
  return out;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot make " + path);
}

constexpr const char* columns =
    "id, sha256, uploader, feed, name, mime, size, width, height, created_ms, posted";

upload_record read_row(sql::statement& st) {
  return {st.text(0),    st.text(1),    st.text(2),         st.text(3),
          st.text(4),    st.text(5),    st.integer(6),      st.integer(7),
          st.integer(8), st.integer(9), st.integer(10) != 0};
}

}  // namespace

std::string attachment_json(const upload_record& r) {
  nlohmann::json j{{"id", r.id},
                   {"name", r.name},
                   {"size", r.size},
                   {"mime", r.mime},
                   {"type", r.image() ? "image" : "file"}};
  if (r.image()) {
    j["width"] = r.width;
    j["height"] = r.height;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

upload_store::upload_store(const std::string& db_path) : db_(db_path, std::chrono::seconds(5)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");  // ids, hashes
  configure(db_);
  migrate(db_);
}

void upload_store::add(const upload_record& r) {
  sql::statement st(db_, (std::string("INSERT INTO uploads (") + columns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                             .c_str());
  st.bind(1, r.id).bind(2, r.sha256).bind(3, r.uploader).bind(4, r.feed).bind(5, r.name);
  st.bind(6, r.mime).bind(7, r.size).bind(8, r.width).bind(9, r.height).bind(10, r.created_ms);
  st.bind(11, std::int64_t{r.posted ? 1 : 0});
  st.run();
}

std::optional<upload_record> upload_store::find(std::string_view id) {
  sql::statement st(db_, (std::string("SELECT ") + columns + " FROM uploads WHERE id = ?").c_str());
  st.bind(1, id);
  if (!st.row()) return std::nullopt;
  return read_row(st);
}

std::size_t upload_store::unposted(std::string_view uploader) {
  sql::statement st(db_, "SELECT COUNT(*) FROM uploads WHERE uploader = ? AND posted = 0");
  st.bind(1, uploader);
  return st.row() ? static_cast<std::size_t>(st.integer(0)) : 0;
}

std::optional<upload_record> upload_store::claim(std::string_view id, std::string_view uploader,
                                                 std::string_view feed) {
  auto found = find(id);
  if (!found || found->uploader != uploader || found->feed != feed) return std::nullopt;
  if (!found->posted) {
    sql::statement st(db_, "UPDATE uploads SET posted = 1 WHERE id = ?");
    st.bind(1, id);
    st.run();
    found->posted = true;
  }
  return found;
}

std::vector<std::string> upload_store::expire(std::int64_t cutoff_ms) {
  std::vector<std::string> gone;
  sql::transaction tx(db_);
  {
    sql::statement st(db_,
                      "SELECT DISTINCT sha256 FROM uploads WHERE posted = 0 AND created_ms < ?");
    st.bind(1, cutoff_ms);
    while (st.row())
      gone.push_back(st.text(0));
    sql::statement del(db_, "DELETE FROM uploads WHERE posted = 0 AND created_ms < ?");
    del.bind(1, cutoff_ms);
    del.run();
  }
  std::erase_if(gone, [this](const std::string& sha) { return names_blob(sha); });
  tx.commit();
  return gone;
}

bool upload_store::names_blob(std::string_view sha256) {
  sql::statement st(db_, "SELECT 1 FROM uploads WHERE sha256 = ? LIMIT 1");
  st.bind(1, sha256);
  return st.row();
}

blob_writer::blob_writer(const std::string& dir) : dir_(dir) {
  std::string templ = dir + "/tmp/upload-XXXXXX";
  fd_ = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd_ < 0) fail("cannot make a temporary file in " + dir + "/tmp");
  tmp_ = std::move(templ);
  crypto_hash_sha256_init(&hash_);
}

blob_writer::~blob_writer() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

bool blob_writer::write(std::string_view piece, int& errno_out) {
  crypto_hash_sha256_update(&hash_, reinterpret_cast<const unsigned char*>(piece.data()),
                            piece.size());
  if (head_.size() < image_probe_bytes)
    head_.append(piece.substr(0, image_probe_bytes - head_.size()));
  size_ += static_cast<std::int64_t>(piece.size());
  while (!piece.empty()) {
    const ssize_t n = ::write(fd_, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      errno_out = n < 0 ? errno : ENOSPC;
      return false;
    }
    piece.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string blob_writer::keep() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash_, digest);
  const std::string sha = to_hex(digest, sizeof digest);
  const std::string final_path = dir_ + "/" + sha;
  // fdatasync before the rename: a crash leaves the old name or the whole new file, never a
  // short blob under a hash it does not have.
  const bool synced = ::fdatasync(fd_) == 0;
  ::close(fd_);
  fd_ = -1;
  if (!synced) return {};
  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0) return sha;  // same content, stored once
  if (::rename(tmp_.c_str(), final_path.c_str()) != 0) return {};
  tmp_.clear();
  return sha;
}

void prepare_files_dir(const std::string& dir) {
  make_dir(dir);
  make_dir(dir + "/tmp");
  DIR* d = ::opendir((dir + "/tmp").c_str());
  if (d == nullptr) fail("cannot read " + dir + "/tmp");
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.starts_with("upload-")) ::unlink((dir + "/tmp/" + name).c_str());
  }
  ::closedir(d);
}

std::string new_upload_id() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  return to_hex(bytes, sizeof bytes);
}

bool valid_upload_id(std::string_view id) noexcept {
  if (id.size() != 32) return false;
  for (const char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace duplex::chat
