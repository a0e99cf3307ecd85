// The engine's one clock. Time points are points of this monotonic clock
// (CLOCK_MONOTONIC, the clock libwebsockets' lws_now_usecs() reads too);
// durations are nanoseconds. Measurement code never reads the clock itself:
// callers pass `now` in, so it is tested on simulated time.
#pragma once

#include <chrono>

namespace wsprobe {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;

// A time point `since` after the clock's origin: for tests and transcripts.
constexpr TimePoint atOffset(Duration since) { return TimePoint(since); }

}  // namespace wsprobe
