#include "duplex/server/http_response.hpp"

#include "duplex/http/response.hpp"

namespace duplex {

std::string http_response::serialize(bool keep_alive, bool head_only) const {
  std::string out;
  out.reserve(128 + body_.size());
  http::response_writer w(out, status_);
  if (status_ != 204 && status_ != 304) {
    w.header("Content-Type", content_type_);
    w.content_length(body_.size());
  }
  for (const auto& [name, value] : headers_)
    w.header(name, value);
  if (!keep_alive || close_) w.header("Connection", "close");
  w.finish(head_only || status_ == 204 || status_ == 304 ? std::string_view{} : body_);
  return out;
}

}  // namespace duplex
