#include "duplex/ws/close_code.hpp"

namespace duplex::ws {

bool is_valid_on_wire(std::uint16_t code) noexcept {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace duplex::ws
