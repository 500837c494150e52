#include "duplex/core/sha1.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace duplex::core {

sha1_digest sha1(std::string_view data) {
  sha1_digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha1(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-1 digest failed");
  }
  return out;
}

}  // namespace duplex::core
