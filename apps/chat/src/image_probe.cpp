#include "image_probe.hpp"

namespace duplex::chat {
namespace {

std::uint32_t byte(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}
std::uint32_t be16(std::string_view s, std::size_t i) {
  return byte(s, i) << 8 | byte(s, i + 1);
}
std::uint32_t le16(std::string_view s, std::size_t i) {
  return byte(s, i) | byte(s, i + 1) << 8;
}
std::uint32_t le24(std::string_view s, std::size_t i) {
  return le16(s, i) | byte(s, i + 2) << 16;
}
std::uint32_t be32(std::string_view s, std::size_t i) {
  return be16(s, i) << 16 | be16(s, i + 2);
}

image_info sized(std::string_view mime, std::uint32_t w, std::uint32_t h) {
  if (w == 0 || h == 0 || w > max_image_side || h > max_image_side) return {};
  return {mime, w, h};
}

// The signature, then the IHDR chunk, which the format requires first.
image_info png(std::string_view s) {
  if (s.size() < 24 || s.substr(12, 4) != "IHDR" || be32(s, 8) != 13) return {};
  return sized("image/png", be32(s, 16), be32(s, 20));
}

// The logical screen: the canvas every frame is drawn on.
image_info gif(std::string_view s) {
  if (s.size() < 10) return {};
  return sized("image/gif", le16(s, 6), le16(s, 8));
}

// RIFF, then the first chunk: lossy (VP8), lossless (VP8L) or extended (VP8X, the canvas).
image_info webp(std::string_view s) {
  if (s.size() < 20) return {};
  const std::string_view chunk = s.substr(12, 4);
  if (chunk == "VP8X" && s.size() >= 30)
    return sized("image/webp", le24(s, 24) + 1, le24(s, 27) + 1);
  if (chunk == "VP8L" && s.size() >= 25 && byte(s, 20) == 0x2f) {
    const std::uint32_t bits = le16(s, 21) | le16(s, 23) << 16;
    return sized("image/webp", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
  }
  if (chunk == "VP8 " && s.size() >= 30 && byte(s, 23) == 0x9d && byte(s, 24) == 0x01 &&
      byte(s, 25) == 0x2a)
    return sized("image/webp", le16(s, 26) & 0x3fff, le16(s, 28) & 0x3fff);
  return {};
}

bool is_sof(std::uint32_t m) {
  return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

// Segments from SOI to the first frame header (SOFn), whose length field is checked; the scan
// (SOS) or the end (EOI) before any frame, or a segment running past `s`, is no image.
image_info jpeg(std::string_view s) {
  std::size_t i = 2;
  while (i + 1 < s.size()) {
    if (byte(s, i) != 0xff) return {};
    const std::uint32_t marker = byte(s, i + 1);
    if (marker == 0xff) {  // fill byte
      ++i;
      continue;
    }
    i += 2;
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;  // no length
    if (marker == 0xd9 || marker == 0xda || i + 2 > s.size()) return {};
    const std::size_t length = be16(s, i);
    if (length < 2) return {};
    if (is_sof(marker)) {
      if (length < 8 || i + 7 > s.size()) return {};
      return sized("image/jpeg", be16(s, i + 5), be16(s, i + 3));
    }
    i += length;
  }
  return {};
}

}  // namespace

image_info probe_image(std::string_view head) noexcept {
  if (head.size() > image_probe_bytes) head = head.substr(0, image_probe_bytes);
  if (head.starts_with("\x89PNG\r\n\x1a\n")) return png(head);
  if (head.starts_with("GIF87a") || head.starts_with("GIF89a")) return gif(head);
  if (head.size() >= 12 && head.starts_with("RIFF") && head.substr(8, 4) == "WEBP")
    return webp(head);
  if (head.starts_with("\xff\xd8")) return jpeg(head);
  return {};
}

}  // namespace duplex::chat
