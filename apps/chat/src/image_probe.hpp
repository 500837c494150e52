// What an uploaded file is, from its first bytes and never from what the client says: one of the
// four image formats a page may show inline (PNG, JPEG, GIF, WebP) with its dimensions, or not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace duplex::chat {

struct image_info {
  std::string_view mime;  // "image/png", ...; empty: not an image we show
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  explicit operator bool() const noexcept { return !mime.empty(); }
};

// The bytes a probe wants at most: a JPEG's frame header may follow 64 KiB of EXIF.
inline constexpr std::size_t image_probe_bytes = 160 * 1024;
// Larger sides are no image a chat previews (and no honest header claims them).
inline constexpr std::uint32_t max_image_side = 65'535;

// Reads the header of `head` (the file's first bytes, up to image_probe_bytes). A truncated,
// malformed or zero-sized header, an unknown format, SVG included (it can hold script), gives
// an empty result. Reads nothing past `head`; never throws.
image_info probe_image(std::string_view head) noexcept;

}  // namespace duplex::chat
