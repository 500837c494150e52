#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace duplex::chat {
namespace {

constexpr std::size_t max_path = 1024;
constexpr off_t max_file = 8 * 1024 * 1024;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::time_t parse_http_date(std::string_view s) {
  std::tm tm{};
  const std::string str(s);
  if (strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return -1;
  return timegm(&tm);
}

// Decoded path segments may not climb (".."), name hidden files (".git", ".env") or hold
// characters a filesystem could read as separators or terminators.
bool safe_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  if (p.find('\0') != std::string_view::npos || p.find('\\') != std::string_view::npos)
    return false;
  std::size_t i = 1;
  while (i <= p.size()) {
    const std::size_t j = std::min(p.find('/', i), p.size());
    const std::string_view seg = p.substr(i, j - i);
    if (!seg.empty() && seg.front() == '.') return false;
    i = j + 1;
  }
  return true;
}

void refuse(http_response& res, int status, std::string_view why) {
  res.status(status).body(std::string(why) + "\n");
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string_view mime_type(std::string_view path) {
  const auto dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

static_files::static_files(const std::string& root) {
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr)
    throw std::runtime_error("web root not found: " + root);
  root_ = resolved;
}

void static_files::serve(const http::request& req, http_response& res) const {
  if (req.method != "GET" && req.method != "HEAD") {
    res.header("Allow", "GET, HEAD");
    return refuse(res, 405, "method not allowed");
  }
  const std::string_view raw = req.path();
  if (raw.size() > max_path) return refuse(res, 414, "path too long");
  std::string path;
  if (!percent_decode(raw, path)) return refuse(res, 400, "malformed percent-encoding");
  if (!safe_path(path)) return refuse(res, 400, "path not allowed");
  if (path.back() == '/') path += "index.html";
  char resolved[PATH_MAX];
  if (::realpath((root_ + path).c_str(), resolved) == nullptr) return refuse(res, 404, "not found");
  const std::string real = resolved;
  // Symlinks are followed by realpath; what they point to must still be inside the root.
  if (real.size() <= root_.size() || real.compare(0, root_.size(), root_) != 0 ||
      real[root_.size()] != '/')
    return refuse(res, 404, "not found");
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max_file) {
    if (fd >= 0) ::close(fd);
    return refuse(res, 404, "not found");
  }
  const std::string etag = "\"" + std::to_string(st.st_size) + "-" +
                           std::to_string(st.st_mtim.tv_sec) + "." +
                           std::to_string(st.st_mtim.tv_nsec) + "\"";
  res.header("ETag", etag).header("Last-Modified", http_date(st.st_mtim.tv_sec));
  res.header("Cache-Control", "no-cache").header("X-Content-Type-Options", "nosniff");
  const auto inm = req.find("If-None-Match");
  const auto ims = req.find("If-Modified-Since");
  const bool fresh = inm ? (inm->find(etag) != std::string_view::npos || *inm == "*")
                         : (ims && parse_http_date(*ims) >= st.st_mtim.tv_sec);
  if (fresh) {
    ::close(fd);
    res.status(304);
    return;
  }
  std::string body(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t n = ::pread(fd, body.data(), body.size(), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(body.size())) return refuse(res, 500, "read failed");
  const std::string_view type = mime_type(real);
  if (type.starts_with("text/html"))
    res.header("Content-Security-Policy",
               "default-src 'self'; connect-src 'self'; img-src 'self' data:");
  res.status(200).body(std::move(body), std::string(type));
}

}  // namespace duplex::chat
