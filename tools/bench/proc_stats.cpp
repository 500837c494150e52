#include "proc_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace duplex::bench {
namespace {

// Nanoseconds on CPU summed over the threads' schedstat: finer than the clock ticks of stat.
std::optional<double> scheduled_seconds(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) return std::nullopt;
  unsigned long long total = 0;
  bool any = false;
  for (const auto& task : tasks) {
    std::ifstream in(task.path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) {
      total += ns;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return static_cast<double>(total) / 1e9;
}

std::optional<double> ticked_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

// Threads that exited during the run drop out of the schedstat sum; servers under test keep
// theirs, and stat's ticks remain the fallback where schedstat is missing.
std::optional<double> cpu_seconds(pid_t pid) {
  if (auto s = scheduled_seconds(pid)) return s;
  return ticked_seconds(pid);
}

std::optional<std::uint64_t> status_bytes(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  const std::string wanted = std::string(field) + ":";
  while (in >> key) {
    if (key == wanted) {
      std::uint64_t kib = 0;
      if (in >> kib) return kib * 1024;
      return std::nullopt;
    }
    in.ignore(4096, '\n');
  }
  return std::nullopt;
}

}  // namespace duplex::bench
