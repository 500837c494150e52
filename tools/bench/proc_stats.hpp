// Reads another process's CPU time and resident memory from /proc, for per-message server costs.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <string_view>

namespace duplex::bench {

// User plus system CPU seconds of every thread of `pid`, or nothing if it cannot be read.
std::optional<double> cpu_seconds(pid_t pid);
// A field of /proc/<pid>/status in bytes: "VmRSS" (all resident pages) or "RssAnon" (resident
// anonymous pages: the heap and stacks, without code paged in from files).
std::optional<std::uint64_t> status_bytes(pid_t pid, std::string_view field);

}  // namespace duplex::bench
