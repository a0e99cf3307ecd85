// What the status page charts for one target: a ring of fixed-size samples,
// one per sample interval (10 s by default, 180 samples: the last 30
// minutes), each holding the ping RTT p50 and p99 of the pongs answered in
// that interval and the connections open; and the lifetimes of the
// connections that ended since the target was added, counted in the
// lifetime histogram's buckets (agent/metrics.h).
//
// Pure logic: every call takes `now` (the engine's monotonic clock); the
// owner (TargetReporter) feeds it from the observer calls and locks it.
//
// Fixed memory, whatever the traffic and however long the agent runs: one
// StatusHistory per target, 3,512 bytes on x86-64 (a static_assert in the
// .cpp holds it): 180 samples x 16 bytes = 2,880, the current interval's RTT
// histogram 80 x 4 = 320, lifetime counts 2 modes x 32 x 4 = 256, and 56 of
// bookkeeping. A page render copies it (3.5 KB per target) under the lock.
//
// Why its own RTT histogram and not deltas of wsprobe_ping_rtt_seconds:
// that family's first bucket is 0.5 ms, so on a LAN or loopback every
// percentile would read 0.25 or 0.5 ms. Buckets here are 2^(1/4) apart
// (each at most 19 % wider than the one before) from 25 us to 18 s.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "probes/clock.h"
#include "probes/connection_end.h"

namespace wsprobe {

struct StatusSample {
  // Of the pongs answered in the interval, in seconds; NaN when none was.
  float rtt_p50_seconds;
  float rtt_p99_seconds;
  std::uint16_t pongs;               // answered in the interval (saturates at 65535)
  std::uint16_t heartbeat_open;      // heartbeat connections open at the interval's end
  std::uint16_t heartbeat_open_min;  // fewest open at any moment of the interval
  std::uint16_t idle_open;           // idle connections open at the interval's end
};

// The `q` quantile (0..1) of observations counted in buckets whose upper
// bounds are `upper_bounds` (ascending; counts has one more entry, the
// overflow above the last bound), interpolated linearly inside the bucket
// as Prometheus' histogram_quantile does; the first bucket starts at 0, the
// overflow bucket answers its lower bound. NaN when nothing was counted.
double bucketQuantile(std::span<const double> upper_bounds, std::span<const std::uint32_t> counts, double q);

class StatusHistory {
 public:
  static constexpr std::size_t kCapacity = 180;
  static constexpr std::size_t kRttBuckets = 80;     // 79 bounds and the overflow
  static constexpr std::size_t kLifetimeSlots = 32;  // room for up to 31 bounds

  // Samples close at start + k * interval. `lifetime_bounds` (the lifetime
  // histogram's upper bounds, ascending, at most kLifetimeSlots - 1) must
  // outlive the history.
  StatusHistory(TimePoint start, Duration interval, std::span<const double> lifetime_bounds);

  // Each closes the intervals that ended by `now` first, so a sample holds
  // what happened in its own interval only.
  void addRoundTrip(TimePoint now, Duration rtt);
  void setOpen(TimePoint now, ConnectionMode mode, int open);
  void addEnd(TimePoint now, ConnectionMode mode, Duration lifetime);
  // Closes every interval that ended by `now`. An interval in which nothing
  // was reported is a quiet sample: no RTT, the open counts unchanged.
  void advanceTo(TimePoint now);

  struct Snapshot {
    std::vector<StatusSample> samples;  // oldest first, at most kCapacity
    TimePoint newest_at;                // when the newest sample's interval ended
    Duration interval;
    std::span<const double> lifetime_bounds;
    // Ends per lifetime bucket (bounds.size() + 1 entries, the last: above
    // the last bound), by mode (index: ConnectionMode).
    std::array<std::vector<std::uint32_t>, 2> lifetimes;
  };
  // Advances to `now`, then copies.
  Snapshot snapshot(TimePoint now);

  // The upper bounds of the RTT buckets, in seconds (kRttBuckets - 1).
  static std::span<const double> rttBounds();

 private:
  void closeInterval();

  std::array<StatusSample, kCapacity> samples_{};
  std::array<std::uint32_t, kRttBuckets> rtt_counts_{};  // the interval in progress
  std::array<std::array<std::uint32_t, kLifetimeSlots>, 2> lifetime_counts_{};
  std::span<const double> lifetime_bounds_;
  TimePoint next_close_;  // when the interval in progress ends
  Duration interval_;
  std::size_t next_slot_ = 0;  // where the next sample goes
  std::size_t count_ = 0;      // samples held
  std::uint16_t heartbeat_open_ = 0;
  std::uint16_t heartbeat_open_min_ = 0;  // since the interval in progress began
  std::uint16_t idle_open_ = 0;
};

}  // namespace wsprobe
