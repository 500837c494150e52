// Counters in Prometheus text format (version 0.0.4): a registry of metric families, each a set
// of labelled series that are plain integers owned here, values read at scrape time, or
// histograms with fixed buckets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex::chat::metrics {

// Label names and values of one series, in the order written.
using labels = std::vector<std::pair<std::string, std::string>>;

// Observations counted in fixed buckets (upper bounds, increasing; +Inf is implied), with
// their sum. Observing is a short scan and three additions: fine on the hot path.
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Observations in bucket i alone (not cumulative); the last is past every bound.
  std::uint64_t in_bucket(std::size_t i) const noexcept { return counts_[i]; }
  std::uint64_t count() const noexcept { return count_; }
  double sum() const noexcept { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Buckets for latencies in seconds: 0.5 ms to 10 s.
std::vector<double> latency_buckets();

// Loop thread only: series are bumped and scraped where the chat runs, with no lock. A name
// given again with other labels adds a series to its family; with the same labels, it is the
// same series. A name or label that Prometheus would refuse, or a name reused with another
// type, throws std::logic_error (a programming error, found at start).
class registry {
 public:
  // A counter owned here: `++` it. The reference stays valid as long as the registry.
  std::uint64_t& counter(std::string_view name, std::string_view help, const labels& l = {});
  // A counter or a gauge whose value is read at each scrape (from a count kept elsewhere).
  void counter_fn(std::string_view name, std::string_view help, std::function<double()> read,
                  const labels& l = {});
  void gauge_fn(std::string_view name, std::string_view help, std::function<double()> read,
                const labels& l = {});
  histogram& histogram_of(std::string_view name, std::string_view help, std::vector<double> bounds,
                          const labels& l = {});

  // Every family in the order first registered, each series in the order added.
  std::string text() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    labels l;
    std::unique_ptr<std::uint64_t> owned;
    std::function<double()> read;
    std::unique_ptr<histogram> hist;
  };
  struct family {
    std::string name;
    std::string help;
    kind type;
    std::vector<series> all;
  };
  series& series_of(std::string_view name, std::string_view help, kind type, const labels& l);
  static void write(std::string& out, const family& f);

  std::vector<family> families_;
};

}  // namespace duplex::chat::metrics
