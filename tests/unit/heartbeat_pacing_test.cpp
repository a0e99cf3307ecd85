// How the engine's one deadline timer paces heartbeats (issue 9): each
// wake-up serves the deadlines due within the timer slack, and the timer is
// then armed for the earliest one left. Simulated here on the real schedule
// (heartbeatPhase, nextHeartbeatAt) and the real DeadlineQueue, with the
// engine's default slack, for a timer that fires when asked and for one that
// fires up to a millisecond late (libev's epoll wait, which the engine used
// before its timerfd): only the first sends heartbeats as they come due.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/deadline_queue.h"
#include "probes/engine.h"
#include "probes/heartbeat_schedule.h"

using namespace std::chrono_literals;
using wsprobe::DeadlineQueue;
using wsprobe::Duration;
using wsprobe::TimePoint;

namespace {

struct Pacing {
  std::size_t wakeups = 0;
  std::size_t pings = 0;
  std::size_t largest_batch = 0;
  Duration earliest = Duration::zero();  // the most a ping left before its grid point
  Duration latest = Duration::zero();    // the most it left after
};

// `connections` of one target ping every `interval`; the timer fires
// `lateness(armed_for)` after the time it was armed for. Runs `span`.
template <typename Lateness>
Pacing simulate(int connections, Duration interval, Duration slack, Duration span, Lateness lateness) {
  DeadlineQueue queue;
  std::vector<TimePoint> next_ping(static_cast<std::size_t>(connections));
  std::vector<Duration> phase(static_cast<std::size_t>(connections));
  const TimePoint start = wsprobe::atOffset(1000s);
  for (int i = 0; i < connections; ++i) {
    const auto at = static_cast<std::size_t>(i);
    phase[at] = wsprobe::heartbeatPhase("bench", i, connections, interval);
    next_ping[at] = wsprobe::nextHeartbeatAt(start, interval, phase[at]);
    queue.schedule(static_cast<DeadlineQueue::Key>(i), next_ping[at]);
  }
  Pacing pacing;
  std::vector<DeadlineQueue::Key> due;
  while (const auto armed_for = queue.next()) {
    const TimePoint now = *armed_for + lateness(*armed_for);
    if (now > start + span) break;
    due.clear();
    queue.popDue(now + slack, due);  // as Engine::Impl::onTimer
    ++pacing.wakeups;
    pacing.pings += due.size();
    pacing.largest_batch = std::max(pacing.largest_batch, due.size());
    for (const auto key : due) {
      const Duration offset = now - next_ping[key];
      pacing.earliest = std::max(pacing.earliest, -offset);
      pacing.latest = std::max(pacing.latest, offset);
      // As HeldConnection::onDeadline: from the grid point, never the same one twice.
      next_ping[key] = wsprobe::nextHeartbeatAt(std::max(now, next_ping[key]), interval, phase[key]);
      queue.schedule(key, next_ping[key]);
    }
  }
  return pacing;
}

}  // namespace

TEST_CASE("heartbeat pacing: a precise timer sends 10,000 connections' pings as they come due", "[unit]") {
  const Duration slack = wsprobe::Engine::Settings{}.timer_slack;
  // Pings 100 us apart: the default slack batches at most two neighbours.
  REQUIRE(slack <= 100us);
  const Pacing pacing = simulate(10000, 1s, slack, 3s, [](TimePoint) { return Duration::zero(); });
  CHECK(pacing.pings >= 29990);
  CHECK(pacing.largest_batch <= 2);
  CHECK(pacing.wakeups >= pacing.pings / 2);
  CHECK(pacing.earliest <= slack);
  CHECK(pacing.latest == Duration::zero());
}

TEST_CASE("heartbeat pacing: a timer late by up to a millisecond sends them in bursts", "[unit]") {
  const Duration slack = wsprobe::Engine::Settings{}.timer_slack;
  // epoll_wait's timeout in whole milliseconds, rounded up: the wake-up comes
  // at the next millisecond after the deadline.
  const auto to_next_millisecond = [](TimePoint armed_for) {
    const Duration since = armed_for.time_since_epoch();
    return std::chrono::ceil<std::chrono::milliseconds>(since) + 1ms - since;
  };
  const Pacing pacing = simulate(10000, 1s, slack, 3s, to_next_millisecond);
  CHECK(pacing.pings >= 29900);
  CHECK(pacing.largest_batch >= 10);
  CHECK(pacing.latest >= 900us);
}

TEST_CASE("heartbeat pacing: a large slack batches what is due within it, never more", "[unit]") {
  const Pacing pacing = simulate(10000, 1s, 1ms, 2s, [](TimePoint) { return Duration::zero(); });
  CHECK(pacing.largest_batch >= 10);
  CHECK(pacing.largest_batch <= 12);
  CHECK(pacing.earliest <= 1ms);
  CHECK(pacing.latest == Duration::zero());
}
