// Serves the chat's page from one directory, refusing every way out of it.
#pragma once

#include <string>

#include "duplex/server/server.hpp"

namespace duplex::chat {

class static_files {
 public:
  // `root` must exist; it is resolved once (symlinks included) and nothing outside it is served.
  explicit static_files(const std::string& root);
  void serve(const http::request& req, http_response& res) const;
  const std::string& root() const noexcept { return root_; }

 private:
  std::string root_;
};

// Percent-decoding that refuses malformed escapes (nullopt-like: returns false).
bool percent_decode(std::string_view in, std::string& out);
std::string_view mime_type(std::string_view path);

}  // namespace duplex::chat
