#include "reconnect_backoff.h"

#include <algorithm>
#include <cmath>

namespace wsprobe {

Duration herdWindow(int connections) {
  constexpr int kHerdReconnectsPerSecond = 2500;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
      static_cast<double>(std::max(connections, 0)) / kHerdReconnectsPerSecond));
}

ReconnectBackoff::ReconnectBackoff(Duration initial, Duration max, double multiplier)
    : initial_(initial), max_(std::max(max, initial)), multiplier_(std::max(multiplier, 1.0)) {}

Duration ReconnectBackoff::ceiling() const {
  // Computed in double and clamped, so many failures cannot overflow.
  const double step = static_cast<double>(initial_.count()) * std::pow(multiplier_, failures_);
  const double capped = std::min(step, static_cast<double>(max_.count()));
  return Duration(static_cast<Duration::rep>(capped));
}

Duration ReconnectBackoff::next(double unit_random) {
  const Duration cap = ceiling();
  if (failures_ < 64) ++failures_;
  const double draw = std::clamp(unit_random, 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(static_cast<double>(cap.count()) * draw));
}

}  // namespace wsprobe
