// A log-linear latency histogram: fixed memory, no allocation per sample, ~6% bucket width.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace duplex::bench {

class histogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++buckets_[index(ns)];
    ++count_;
  }
  void merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets_.size(); ++i)
      buckets_[i] += other.buckets_[i];
    count_ += other.count_;
  }
  std::uint64_t count() const noexcept { return count_; }

  // The upper bound of the bucket holding the q-quantile (0 < q <= 1), in nanoseconds.
  std::uint64_t quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return upper(i);
    }
    return upper(buckets_.size() - 1);
  }

 private:
  // Sixteen buckets per power of two: the exponent picks the group, the next four bits the slot.
  static constexpr unsigned sub_bits = 4;
  static constexpr std::size_t sub = 1u << sub_bits;

  static std::size_t index(std::uint64_t v) noexcept {
    if (v < sub) return static_cast<std::size_t>(v);
    const unsigned exp = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= sub_bits
    const auto slot = static_cast<std::size_t>((v >> (exp - sub_bits)) & (sub - 1));
    return (exp - sub_bits + 1) * sub + slot;
  }
  static std::uint64_t upper(std::size_t i) noexcept {
    if (i < sub) return i;
    const std::size_t group = i / sub - 1;  // exp - sub_bits
    const std::uint64_t slot = i % sub;
    const unsigned shift = static_cast<unsigned>(group);
    return ((sub + slot + 1) << shift) - 1;
  }

  std::array<std::uint64_t, (64 - sub_bits + 1) * sub> buckets_{};
  std::uint64_t count_ = 0;
};

}  // namespace duplex::bench
