#include "publication.hpp"

#include <string>

#include "duplex/ws/deflate.hpp"
#include "duplex/ws/frame.hpp"

namespace duplex::detail {

const net::shared_bytes& packed_frames::frame(int bits) {
  static const net::shared_bytes none;
  if (bits < 9 || bits > 15) return none;
  const auto i = static_cast<std::size_t>(bits - 9);
  std::call_once(once_[i], [&] {
    std::string payload;
    if (!ws::deflate_message(this->payload(), bits, level_, payload)) return;
    char header[ws::max_header_size];
    auto buf = std::make_shared<std::string>();
    buf->reserve(ws::max_header_size + payload.size());
    // RFC 7692 section 7.2.1: RSV1 marks the message as compressed.
    buf->append(header, ws::write_header(header, true, op_, payload.size(), nullptr, 0x40));
    buf->append(payload);
    frames_[i] = std::move(buf);
  });
  return frames_[i];
}

}  // namespace duplex::detail
