// Random bytes behind an interface, so that tests can inject a fixed source.
#pragma once

#include <array>
#include <cstddef>
#include <span>

namespace duplex::core {

/// Where masks and keys come from; tests substitute a fixed sequence.
class random_source {
 public:
  virtual ~random_source() = default;
  /// Fills `out` with random bytes.
  virtual void fill(std::span<std::byte> out) = 0;
};

/// Cryptographically strong bytes from OpenSSL, drawn in batches so that per-frame masks do not
/// cost a call into the library each. Not thread-safe: keep one per loop.
class system_random final : public random_source {
 public:
  /// Fills `out` from the current batch, drawing a new one from OpenSSL when it runs out.
  void fill(std::span<std::byte> out) override;

 private:
  std::array<std::byte, 512> pool_{};
  std::size_t used_ = pool_.size();
};

}  // namespace duplex::core
