// SHA-1 digest (through OpenSSL), used only for the handshake's accept value.
#pragma once

#include <array>
#include <string_view>

namespace duplex::core {

using sha1_digest = std::array<unsigned char, 20>;

sha1_digest sha1(std::string_view data);

}  // namespace duplex::core
