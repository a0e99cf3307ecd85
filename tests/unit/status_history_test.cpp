// The status page's sample ring on simulated time: samples close on the
// interval grid, hold only their own interval's pongs, wrap at 180, and an
// empty or quiet history says so instead of inventing numbers.
#include "agent/status_history.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::bucketQuantile;
using wsprobe::ConnectionMode;
using wsprobe::StatusHistory;

const std::vector<double> kLifetimeBounds = {1, 5, 10, 60};
const auto kStart = atOffset(1000s);

StatusHistory history() { return StatusHistory(kStart, 10s, kLifetimeBounds); }

}  // namespace

TEST_CASE("bucketQuantile interpolates inside the bucket as histogram_quantile does",
          "[unit][status_history]") {
  const std::vector<double> bounds = {1, 2, 4};
  struct Case {
    std::vector<std::uint32_t> counts;
    double q;
    double expected;
  };
  const std::vector<Case> cases = {
      {{10, 0, 0, 0}, 0.5, 0.5},                              // the first bucket starts at 0
      {{0, 10, 0, 0}, 0.5, 1.5},                              // halfway through (1, 2]
      {{0, 10, 0, 0}, 0.99, 1.99}, {{5, 5, 0, 0}, 0.5, 1.0},  // rank 5 ends the first bucket
      {{5, 5, 0, 0}, 0.75, 1.5},   {{0, 0, 4, 0}, 0.25, 2.5},
      {{0, 0, 0, 3}, 0.5, 4.0},  // the overflow bucket answers its lower bound
      {{1, 0, 0, 1}, 0.99, 4.0},
  };
  for (const auto& c : cases) {
    INFO("q=" << c.q << " counts " << c.counts[0] << "," << c.counts[1] << "," << c.counts[2] << ","
              << c.counts[3]);
    CHECK(bucketQuantile(bounds, c.counts, c.q) == Approx(c.expected));
  }
  CHECK(std::isnan(bucketQuantile(bounds, std::vector<std::uint32_t>{0, 0, 0, 0}, 0.5)));
}

TEST_CASE("an empty history has no samples and no ends", "[unit][status_history]") {
  StatusHistory ring = history();
  const auto snapshot = ring.snapshot(kStart + 9s);
  CHECK(snapshot.samples.empty());
  CHECK(snapshot.interval == 10s);
  REQUIRE(snapshot.lifetimes[0].size() == kLifetimeBounds.size() + 1);
  for (const auto& counts : snapshot.lifetimes) {
    for (const auto count : counts) CHECK(count == 0);
  }
}

TEST_CASE("a sample holds the RTT percentiles of its own interval only", "[unit][status_history]") {
  StatusHistory ring = history();
  // First interval: 100 pongs at about 1 ms. Second: 99 at about 10 ms and
  // one at 200 ms. Third: nothing.
  for (int i = 0; i < 100; ++i) ring.addRoundTrip(kStart + 1s, 1ms);
  for (int i = 0; i < 99; ++i) ring.addRoundTrip(kStart + 12s, 10ms);
  ring.addRoundTrip(kStart + 19s, 200ms);
  const auto snapshot = ring.snapshot(kStart + 30s);
  REQUIRE(snapshot.samples.size() == 3);
  CHECK(snapshot.newest_at == kStart + 30s);

  const auto& first = snapshot.samples[0];
  CHECK(first.pongs == 100);
  // Buckets are 2^(1/4) apart: within 19 % of the true value.
  CHECK(first.rtt_p50_seconds == Approx(0.001).epsilon(0.19));
  CHECK(first.rtt_p99_seconds == Approx(0.001).epsilon(0.19));

  const auto& second = snapshot.samples[1];
  CHECK(second.pongs == 100);
  CHECK(second.rtt_p50_seconds == Approx(0.010).epsilon(0.19));  // none of the first interval's 1 ms
  CHECK(second.rtt_p99_seconds == Approx(0.010).epsilon(0.19));  // rank 99 of 100 is still 10 ms
  CHECK(second.rtt_p99_seconds > first.rtt_p99_seconds * 5);

  const auto& third = snapshot.samples[2];
  CHECK(third.pongs == 0);
  CHECK(std::isnan(third.rtt_p50_seconds));
  CHECK(std::isnan(third.rtt_p99_seconds));
}

TEST_CASE("open counts: the value at the interval's end and the fewest during it", "[unit][status_history]") {
  StatusHistory ring = history();
  ring.setOpen(kStart + 1s, ConnectionMode::heartbeat, 2);
  ring.setOpen(kStart + 1s, ConnectionMode::idle, 1);
  // Second interval: one connection drops and comes back.
  ring.setOpen(kStart + 13s, ConnectionMode::heartbeat, 1);
  ring.setOpen(kStart + 14s, ConnectionMode::heartbeat, 2);
  const auto snapshot = ring.snapshot(kStart + 35s);
  REQUIRE(snapshot.samples.size() == 3);
  CHECK(snapshot.samples[0].heartbeat_open == 2);
  CHECK(snapshot.samples[0].heartbeat_open_min == 0);  // nothing was open when the interval began
  CHECK(snapshot.samples[0].idle_open == 1);
  CHECK(snapshot.samples[1].heartbeat_open == 2);
  CHECK(snapshot.samples[1].heartbeat_open_min == 1);
  // Quiet: nothing changed, so what was open stays open.
  CHECK(snapshot.samples[2].heartbeat_open == 2);
  CHECK(snapshot.samples[2].heartbeat_open_min == 2);
  CHECK(snapshot.samples[2].idle_open == 1);
}

TEST_CASE("the ring keeps the newest 180 samples, oldest first, across the wrap", "[unit][status_history]") {
  StatusHistory ring = history();
  // 200 intervals, interval k with k % 7 + 1 open connections.
  for (int k = 0; k < 200; ++k) ring.setOpen(kStart + k * 10s + 5s, ConnectionMode::heartbeat, k % 7 + 1);
  const auto snapshot = ring.snapshot(kStart + 2000s);
  REQUIRE(snapshot.samples.size() == StatusHistory::kCapacity);
  CHECK(snapshot.newest_at == kStart + 2000s);
  for (std::size_t i = 0; i < snapshot.samples.size(); ++i) {
    const int k = 20 + static_cast<int>(i);
    INFO("sample " << i);
    CHECK(snapshot.samples[i].heartbeat_open == k % 7 + 1);
  }
}

TEST_CASE("a long silence fills the ring with quiet samples and stays bounded", "[unit][status_history]") {
  StatusHistory ring = history();
  ring.addRoundTrip(kStart + 1s, 5ms);
  ring.setOpen(kStart + 1s, ConnectionMode::heartbeat, 3);
  // A day without a call: the page is read at last.
  const auto snapshot = ring.snapshot(kStart + 24h + 3s);
  REQUIRE(snapshot.samples.size() == StatusHistory::kCapacity);
  CHECK(snapshot.newest_at == kStart + 24h);
  for (const auto& sample : snapshot.samples) {
    CHECK(std::isnan(sample.rtt_p50_seconds));
    CHECK(sample.heartbeat_open == 3);
  }
  // Calls before the next grid point do not add a sample.
  ring.addRoundTrip(kStart + 24h + 9s, 5ms);
  CHECK(ring.snapshot(kStart + 24h + 9s).samples.back().pongs == 0);
  CHECK(ring.snapshot(kStart + 24h + 10s).samples.back().pongs == 1);
}

TEST_CASE("lifetimes count in the given buckets, by mode, and never expire", "[unit][status_history]") {
  StatusHistory ring = history();
  ring.addEnd(kStart + 1s, ConnectionMode::heartbeat, 500ms);  // <= 1
  ring.addEnd(kStart + 2s, ConnectionMode::heartbeat, 5s);     // <= 5 (upper bounds are inclusive)
  ring.addEnd(kStart + 3s, ConnectionMode::heartbeat, 7s);     // <= 10
  ring.addEnd(kStart + 4s, ConnectionMode::idle, 61s);         // above the last bound
  ring.addEnd(kStart + 5s, ConnectionMode::idle, 60s);         // <= 60
  const auto snapshot = ring.snapshot(kStart + 5000s);         // well past the ring's window
  const std::vector<std::uint32_t> heartbeat = {1, 1, 1, 0, 0};
  const std::vector<std::uint32_t> idle = {0, 0, 0, 1, 1};
  CHECK(snapshot.lifetimes[static_cast<std::size_t>(ConnectionMode::heartbeat)] == heartbeat);
  CHECK(snapshot.lifetimes[static_cast<std::size_t>(ConnectionMode::idle)] == idle);
}

TEST_CASE("RTTs beyond the finest and coarsest buckets still count", "[unit][status_history]") {
  StatusHistory ring = history();
  ring.addRoundTrip(kStart + 1s, 1us);
  ring.addRoundTrip(kStart + 1s, 60s);
  const auto snapshot = ring.snapshot(kStart + 10s);
  REQUIRE(snapshot.samples.size() == 1);
  CHECK(snapshot.samples[0].pongs == 2);
  CHECK(snapshot.samples[0].rtt_p50_seconds <= 26e-6);
  CHECK(snapshot.samples[0].rtt_p99_seconds == Approx(StatusHistory::rttBounds().back()));
}
