// The pace of connection attempts (probes/attempt_pacer.h) on simulated time.
#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "probes/attempt_pacer.h"

using namespace std::chrono_literals;
using wsprobe::AttemptPacer;
using wsprobe::atOffset;
using wsprobe::TimePoint;

TEST_CASE("attempt pacer: a burst starts at once, then one start per 1/rate", "[unit]") {
  AttemptPacer pacer(1000.0, 5);
  const TimePoint t0 = atOffset(10s);
  for (int i = 0; i < 5; ++i) CHECK(pacer.take(t0));
  CHECK_FALSE(pacer.take(t0));
  CHECK(pacer.nextFree(t0) == t0 + 1ms);
  CHECK_FALSE(pacer.take(t0 + 999us));
  CHECK(pacer.take(t0 + 1ms));
  CHECK_FALSE(pacer.take(t0 + 1ms));
  // A long pause refills the burst, no more.
  const TimePoint later = t0 + 1h;
  CHECK(pacer.nextFree(later) == later);
  int started = 0;
  while (pacer.take(later)) ++started;
  CHECK(started == 5);
}

TEST_CASE("attempt pacer: attempts freed in batches start at most rate x window + burst in any 100 ms",
          "[unit]") {
  // A server that accepts 500 at a time every 300 ms frees 5,000 places in
  // batches; the engine starts a waiting attempt whenever the pacer allows.
  constexpr double kRate = 2500.0;
  constexpr int kBurst = 25;
  AttemptPacer pacer(kRate, kBurst);
  const TimePoint t0 = atOffset(1s);
  int freed = 0;
  int waiting = 0;
  std::vector<TimePoint> starts;
  TimePoint now = t0;
  TimePoint next_batch = t0;
  while (starts.size() < 5000) {
    if (now >= next_batch && freed < 5000) {
      freed += 500;
      waiting += 500;
      next_batch += 300ms;
    }
    while (waiting > 0 && pacer.take(now)) {
      starts.push_back(now);
      --waiting;
    }
    // Sleep to whichever comes first: the next free start or the next batch.
    TimePoint wake = waiting > 0 ? pacer.nextFree(now) : next_batch;
    if (freed < 5000 && next_batch < wake) wake = next_batch;
    REQUIRE(wake > now);
    now = wake;
  }
  std::size_t busiest = 0;
  for (std::size_t first = 0, last = 0; first < starts.size(); ++first) {
    while (last < starts.size() && starts[last] < starts[first] + 100ms) ++last;
    busiest = std::max(busiest, last - first);
  }
  CHECK(busiest <= static_cast<std::size_t>(kRate * 0.1) + kBurst);
  CHECK(busiest >= static_cast<std::size_t>(kRate * 0.1));  // the pace, not less
  // No start is lost to the pace: the last batch (at 2.7 s) is started
  // within its 500 / 2,500 a second.
  CHECK(starts.back() - starts.front() >= 2700ms);
  CHECK(starts.back() - starts.front() <= 2900ms);
}
