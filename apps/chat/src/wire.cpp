#include "wire.hpp"

namespace duplex::chat {

std::string to_wire(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string text_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {
    const double d = it->get<double>();
    // Out of range would be undefined behaviour in the conversion.
    return d > -9e18 && d < 9e18 ? static_cast<std::int64_t>(d) : fallback;
  }
  return fallback;
}

std::size_t code_points(std::string_view utf8) noexcept {
  std::size_t n = 0;
  for (const char ch : utf8)
    n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;  // every byte but continuations
  return n;
}

}  // namespace duplex::chat
