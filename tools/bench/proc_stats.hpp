// Reads another process's CPU time and resident memory from /proc, for per-message server costs.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>

namespace duplex::bench {

// User plus system CPU seconds of every thread of `pid`, or nothing if it cannot be read.
std::optional<double> cpu_seconds(pid_t pid);
// Resident set size of `pid` in bytes (VmRSS), or nothing if it cannot be read.
std::optional<std::uint64_t> resident_bytes(pid_t pid);

}  // namespace duplex::bench
