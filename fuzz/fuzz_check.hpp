// Fuzz-target helpers: a failed invariant aborts, so libFuzzer (and the replay test) report it.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#include <cstddef>
#include <cstdint>
#include <vector>

namespace duplex::fuzz {

// Cuts the input into pieces whose sizes come from the input itself, so the fuzzer explores
// every way bytes can be split across reads.
inline std::vector<std::vector<char>> chunks(const std::uint8_t* data, std::size_t size) {
  std::vector<std::vector<char>> out;
  if (size == 0) return out;
  const std::size_t step_seed = data[0];
  std::size_t i = 1;
  std::size_t k = 0;
  while (i < size) {
    const std::size_t step = 1 + ((step_seed * 31 + k * 17) % 64);
    const std::size_t n = step < size - i ? step : size - i;
    out.emplace_back(reinterpret_cast<const char*>(data + i),
                     reinterpret_cast<const char*>(data + i + n));
    i += n;
    ++k;
  }
  return out;
}

}  // namespace duplex::fuzz
