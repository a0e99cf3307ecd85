// How fast connection attempts may start, all targets of an engine together:
// a token bucket. The jitter of the reconnect backoff spreads when attempts
// fall due; a cap on handshakes in flight bounds how many run at once. Neither
// bounds how many start together: when a server that was busy (restarting,
// answering 5,000 close handshakes) accepts a batch, each accept frees a
// place and a waiting attempt would start at once, so the SYNs followed the
// server's batches (up to 493 of 5,000 reconnections in one 100 ms,
// tests/e2e/fault_matrix_test.cpp). With a pace, at most
// rate x window + burst start in any window.
#pragma once

#include <optional>

#include "probes/clock.h"

namespace wsprobe {

class AttemptPacer {
 public:
  // per_second > 0; burst >= 1: starts that may go at once after a pause.
  AttemptPacer(double per_second, int burst);

  // Takes one start, if one is free at `now` (times never go back).
  bool take(TimePoint now);
  // When the next start is free: `now` if one is.
  TimePoint nextFree(TimePoint now);

 private:
  void refill(TimePoint now);

  double per_second_;
  double burst_;
  double tokens_;
  std::optional<TimePoint> refilled_at_;
};

}  // namespace wsprobe
