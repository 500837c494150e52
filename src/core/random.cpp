#include "duplex/core/random.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace duplex::core {
namespace {

void draw(std::byte* out, std::size_t n) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

}  // namespace

void system_random::fill(std::span<std::byte> out) {
  if (out.empty()) return;
  if (out.size() > pool_.size()) {
    draw(out.data(), out.size());
    return;
  }
  if (pool_.size() - used_ < out.size()) {
    draw(pool_.data(), pool_.size());
    used_ = 0;
  }
  std::memcpy(out.data(), pool_.data() + used_, out.size());
  // Bytes handed out are wiped so a later memory disclosure cannot reveal past masks.
  std::memset(pool_.data() + used_, 0, out.size());
  used_ += out.size();
}

}  // namespace duplex::core
