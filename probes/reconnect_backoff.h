// Reconnect delays: exponential, full jitter (a uniform draw between zero and
// the capped exponential step), reset once a connection has proved stable.
#pragma once

#include "target_spec.h"

namespace wsprobe {

class ReconnectBackoff {
 public:
  ReconnectBackoff(Duration initial, Duration max, double multiplier);

  // The delay before the next attempt; `unit_random` is a draw in [0, 1).
  Duration next(double unit_random);
  // The ceiling the next draw is taken under (for the API and tests).
  Duration ceiling() const;
  // A connection stayed open long enough: start again from `initial`.
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  Duration initial_;
  Duration max_;
  double multiplier_;
  int failures_ = 0;  // draws since the last reset
};

}  // namespace wsprobe
