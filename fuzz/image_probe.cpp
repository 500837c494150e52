// chat::probe_image and sanitize_file_name on any bytes: no read past the input, dimensions only
// for a known image within bounds, and a name that is never empty, never holds a separator or a
// control byte, and stays within its bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/file_names.hpp"
#include "src/image_probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace duplex::chat;
  const std::string copy(reinterpret_cast<const char*>(data), size);  // exact size for ASan
  const image_info info = probe_image(copy);
  if (info) {
    FUZZ_CHECK(info.mime == "image/png" || info.mime == "image/jpeg" || info.mime == "image/gif" ||
               info.mime == "image/webp");
    FUZZ_CHECK(info.width >= 1 && info.width <= max_image_side);
    FUZZ_CHECK(info.height >= 1 && info.height <= max_image_side);
  } else {
    FUZZ_CHECK(info.width == 0 && info.height == 0);
  }
  const std::string name = sanitize_file_name(copy);
  FUZZ_CHECK(!name.empty() && name.size() <= max_file_name_bytes);
  for (const char c : name)
    FUZZ_CHECK(c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  return 0;
}
