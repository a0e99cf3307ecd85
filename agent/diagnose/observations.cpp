#include "agent/diagnose/observations.h"

#include <algorithm>
#include <cmath>

namespace wsprobe::diagnose {

std::string_view key(Probe probe) {
  switch (probe) {
    case Probe::ping:
      return "ping";
    case Probe::idle:
      return "idle";
    case Probe::message:
      return "message";
  }
  return "unknown";
}

std::string_view title(Probe probe) {
  switch (probe) {
    case Probe::ping:
      return "pinged connection";
    case Probe::idle:
      return "idle connection";
    case Probe::message:
      return "data-frame connection";
  }
  return "connection";
}

Duration ProbeRecord::longestOpen() const {
  Duration longest = open_at_finish.value_or(Duration::zero());
  for (const auto& end : ends) longest = std::max(longest, end.lifetime);
  return longest;
}

std::optional<Spread> spreadOf(std::vector<Duration> samples) {
  if (samples.empty()) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least p of them at or below it.
  const auto rank = [&](double p) {
    const auto n = static_cast<double>(samples.size());
    const auto index = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n))) - 1;
    return samples[std::min(index, samples.size() - 1)];
  };
  return Spread{samples.size(), samples.front(), rank(0.50), rank(0.99), samples.back()};
}

double seconds(Duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace wsprobe::diagnose
