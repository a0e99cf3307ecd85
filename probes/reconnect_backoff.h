// Reconnect delays: exponential, full jitter (a uniform draw between zero and
// the capped exponential step), reset once a connection has proved stable.
#pragma once

#include "target_spec.h"

namespace wsprobe {

// The narrowest window a target's reconnections are drawn from: its
// connections at no more than 2,500 a second on average. A server that closes
// all of them at once (a restart) then sees their reconnections spread: with
// full jitter over 2 s, 5,000 put about 6 % of them in the busiest 100 ms,
// where the default 1 s puts 10 % there on average and more at its peaks
// (issue 10's goal: at most a tenth). Targets of up to 2,500 connections keep
// backoff_initial as configured.
Duration herdWindow(int connections);

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
