// The response a plain-HTTP handler fills in; the server adds Content-Length and Connection.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex {

/// The answer a plain HTTP handler fills in: status, headers and body, written by the server.
class http_response {
 public:
  http_response() = default;
  /// Made by the server for a plain HTTP route, knowing who asked.
  explicit http_response(std::string peer) : peer_(std::move(peer)) {}

  /// For a plain HTTP route, the client's address as http_exchange::peer() reports it: the TCP
  /// peer, or the client a trusted proxy named for this request. Empty in a response made by the
  /// application.
  std::string_view peer() const noexcept { return peer_; }

  /// Sets the status code (200 unless set).
  http_response& status(int code) noexcept {
    status_ = code;
    return *this;
  }
  /// Values holding CR or LF are refused when the response is written.
  http_response& header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  /// Sets the body and its Content-Type.
  http_response& body(std::string text, std::string content_type = "text/plain; charset=utf-8") {
    body_ = std::move(text);
    content_type_ = std::move(content_type);
    return *this;
  }
  /// Ask the server to end the connection after this response.
  http_response& close() noexcept {
    close_ = true;
    return *this;
  }

  /// The status code set so far.
  int status() const noexcept { return status_; }
  /// The body set so far.
  const std::string& body() const noexcept { return body_; }
  /// The full response; `head_only` for HEAD requests (same headers, no body).
  std::string serialize(bool keep_alive, bool head_only) const;
  /// Whether close() was asked.
  bool wants_close() const noexcept { return close_; }

 private:
  int status_ = 200;
  bool close_ = false;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string body_;
  std::string content_type_ = "text/plain; charset=utf-8";
  std::string peer_;
};

}  // namespace duplex
