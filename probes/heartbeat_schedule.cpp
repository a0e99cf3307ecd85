#include "probes/heartbeat_schedule.h"

#include <cstdint>

namespace wsprobe {

namespace {

// FNV-1a, 64 bit: stable across runs and builds (std::hash is not).
std::uint64_t stableHash(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

Duration heartbeatPhase(std::string_view target, int index, int count, Duration interval) {
  const auto ticks = static_cast<std::uint64_t>(interval.count());
  if (ticks == 0) return Duration::zero();
  const std::uint64_t share = count > 0 ? ticks / static_cast<std::uint64_t>(count) : 0;
  const std::uint64_t phase = stableHash(target) % ticks + static_cast<std::uint64_t>(index) * share;
  return Duration(static_cast<Duration::rep>(phase % ticks));
}

TimePoint nextHeartbeatAt(TimePoint after, Duration interval, Duration phase) {
  if (interval <= Duration::zero()) return after;
  const Duration since_origin = after.time_since_epoch() - phase;
  // Floor division, also for times before the phase.
  auto periods = since_origin / interval;
  if (since_origin.count() < 0 && since_origin % interval != Duration::zero()) --periods;
  return TimePoint(phase + (periods + 1) * interval);
}

}  // namespace wsprobe
