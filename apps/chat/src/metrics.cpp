#include "metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace duplex::chat::metrics {
namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view s, bool colon) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i], i == 0, colon)) return false;
  return true;
}

// The exposition format's escapes: a label value escapes \ " and newline; HELP \ and newline.
void escaped(std::string& out, std::string_view s, bool quote) {
  for (const char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

void number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<std::int64_t>(v));  // a count: never "1e+06"
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
    out.append(buf, r.ptr);
  }
}

void label_set(std::string& out, const labels& l, std::string_view le = {}) {
  if (l.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"";
    escaped(out, v, true);
    out += '"';
  }
  if (!le.empty()) out += std::string(first ? "" : ",") + "le=\"" + std::string(le) + "\"";
  out += '}';
}

void put_sample(std::string& out, std::string_view name, const labels& l, double v,
                std::string_view le = {}) {
  out += name;
  label_set(out, l, le);
  out += ' ';
  number(out, v);
  out += '\n';
}

}  // namespace

// ----- histogram

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::logic_error("histogram bounds must increase");
}

void histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  ++counts_[i];
  ++count_;
  sum_ += v;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
}

// ----- registry

registry::series& registry::series_of(std::string_view name, std::string_view help, kind type,
                                      const labels& l) {
  if (!valid_name(name, true)) throw std::logic_error("bad metric name: " + std::string(name));
  for (const auto& [k, v] : l)
    if (!valid_name(k, false) || k.starts_with("__") || k == "le")
      throw std::logic_error("bad label name: " + k);
  auto f = std::find_if(families_.begin(), families_.end(),
                        [&](const family& x) { return x.name == name; });
  if (f == families_.end()) {
    families_.push_back({std::string(name), std::string(help), type, {}});
    f = families_.end() - 1;
  } else if (f->type != type) {
    throw std::logic_error("metric " + std::string(name) + " registered with another type");
  }
  for (auto& s : f->all)
    if (s.l == l) return s;
  f->all.push_back({l, nullptr, nullptr, nullptr});
  return f->all.back();
}

std::uint64_t& registry::counter(std::string_view name, std::string_view help, const labels& l) {
  auto& s = series_of(name, help, kind::counter, l);
  if (s.read || s.hist)
    throw std::logic_error("metric " + std::string(name) + " is read, not owned");
  if (!s.owned) s.owned = std::make_unique<std::uint64_t>(0);
  return *s.owned;
}

void registry::counter_fn(std::string_view name, std::string_view help,
                          std::function<double()> read, const labels& l) {
  series_of(name, help, kind::counter, l).read = std::move(read);
}

void registry::gauge_fn(std::string_view name, std::string_view help, std::function<double()> read,
                        const labels& l) {
  series_of(name, help, kind::gauge, l).read = std::move(read);
}

histogram& registry::histogram_of(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, const labels& l) {
  auto& s = series_of(name, help, kind::histogram, l);
  if (!s.hist) s.hist = std::make_unique<histogram>(std::move(bounds));
  return *s.hist;
}

void registry::write(std::string& out, const family& f) {
  static constexpr const char* type_names[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + f.name + ' ';
  escaped(out, f.help, false);
  out += "\n# TYPE " + f.name + ' ' + type_names[static_cast<int>(f.type)] + '\n';
  for (const auto& s : f.all) {
    if (!s.hist) {
      put_sample(out, f.name, s.l, s.owned ? static_cast<double>(*s.owned) : s.read ? s.read() : 0);
      continue;
    }
    const auto& h = *s.hist;
    std::uint64_t below = 0;
    std::string le;
    for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
      below += h.in_bucket(i);
      le.clear();
      number(le, i < h.bounds().size() ? h.bounds()[i] : INFINITY);
      put_sample(out, f.name + "_bucket", s.l, static_cast<double>(below), le);
    }
    put_sample(out, f.name + "_sum", s.l, h.sum());
    put_sample(out, f.name + "_count", s.l, static_cast<double>(h.count()));
  }
}

std::string registry::text() const {
  std::string out;
  for (const auto& f : families_)
    write(out, f);
  return out;
}

}  // namespace duplex::chat::metrics
