// Estimates the idle timeout of a path from the lifetimes of the connection
// that never sends anything (mode idle). Pure: lifetimes are passed in.
//
// The estimate is known once the last three counted lifetimes agree within
// 5 % (the longest at most 5 % above the shortest); it is their mean. It then
// stays until three later lifetimes agree on something else, so one odd end (a
// deploy, a network drop) neither hides nor moves it. An idle connection that
// lived to idle_probe_max, where wsprobe closes it, proves there is no idle
// timeout below that bound: the estimate becomes +Inf at once.
//
// Which ends count: those the path caused, that is TCP ending without a close
// frame (what an intermediary's idle timeout looks like) and close frames from
// the server (a server with an idle policy of its own). Ends wsprobe caused
// (shutdown, reload, its own idle_probe_max close), protocol errors and
// heartbeat deadlines say nothing about how long the path tolerates silence.
#pragma once

#include <deque>
#include <optional>

#include "connection_end.h"

namespace wsprobe {

class IdleTimeoutEstimator {
 public:
  // Lifetimes that must agree, and how closely.
  static constexpr std::size_t kAgreeing = 3;
  static constexpr double kTolerance = 0.05;

  // Whether `end` is evidence about the path's idle timeout.
  static bool counts(const ConnectionEnd& end);

  // An idle connection ended. Returns true when the estimate changed.
  bool observeEnd(const ConnectionEnd& end);
  // An idle connection lived to the bound and wsprobe closed it. Returns true
  // when the estimate changed (to +Inf).
  bool observeSurvival();

  // Seconds; +Inf for "none below idle_probe_max"; nullopt until known.
  std::optional<double> estimate() const { return estimate_; }

 private:
  std::deque<double> recent_;  // counted lifetimes in seconds, oldest first
  std::optional<double> estimate_;
};

}  // namespace wsprobe
