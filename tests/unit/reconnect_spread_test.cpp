// A restart closes every connection of a target at once: their reconnections,
// drawn by the held connections themselves on simulated time, must spread so
// that no 100 ms holds more than a tenth of them (issue 10).
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "probes/held_connection.h"
#include "probes/probed_target.h"
#include "probes/reconnect_backoff.h"

using namespace std::chrono_literals;
using namespace wsprobe;

namespace {

constexpr auto at = atOffset;

struct QuietObserver final : ProbeObserver {
  void onAttempt(ConnectionMode, bool) override {}
  void onFailure(ConnectionMode, const ConnectionFailure&) override {}
  void onOpen(ConnectionMode, Duration) override {}
  void onEnd(const ConnectionEnd&) override {}
  void onRoundTrip(Duration) override {}
  void onOpenCount(ConnectionMode, int) override {}
  void onUp(bool) override {}
  void onMessageSent() override {}
  void onMessageReceived() override {}
  void onIdleTimeoutEstimate(double) override {}
};

// One host for a whole herd: seeded draws, the last wake-up each connection asked for.
struct HerdHost final : ConnectionHost {
  std::mt19937_64 random{20261126};
  std::map<DeadlineQueue::Key, TimePoint> wake;
  void connect(HeldConnection&) override {}
  void wakeAt(DeadlineQueue::Key key, TimePoint when) override { wake[key] = when; }
  double unitRandom() override { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }
  bool admitAttempt(DeadlineQueue::Key) override { return true; }
  void attemptSettled() override {}
  void requestWritable(HeldConnection&) override {}
  bool write(HeldConnection&, WireFrame, std::string_view) override { return true; }
  void abort(HeldConnection&) override {}
  std::optional<TcpPathStats> tcpStats(HeldConnection&) override { return std::nullopt; }
};

// The most reconnections that fall in one 100 ms window, for `connections`
// closed together with 1012 after a minute open.
std::size_t busiestAfterRestart(int connections, Duration backoff_initial) {
  TargetSpec spec;
  spec.name = "herd";
  spec.url.host = "example.test";
  spec.url.port = 80;
  spec.protocol = "raw";
  spec.connections = connections;
  spec.backoff_initial = backoff_initial;
  ProbedTarget target(spec, std::make_shared<QuietObserver>());
  HerdHost host;
  std::vector<std::unique_ptr<HeldConnection>> herd;
  for (int i = 0; i < connections; ++i) {
    herd.push_back(std::make_unique<HeldConnection>(target, ConnectionMode::heartbeat, i,
                                                    static_cast<DeadlineQueue::Key>(i), host));
    herd.back()->begin(at(0s));
    herd.back()->onEstablished(at(10ms), "");
  }
  std::vector<double> retries;  // ms after the restart
  for (auto& connection : herd) {
    unsigned char restart[] = {0x03, 0xF4};  // 1012
    connection->onPeerClose(restart, sizeof restart);
    connection->onClosed(at(60s), 0);
    REQUIRE(connection->phase() == HeldConnection::Phase::waiting);
    retries.push_back(
        std::chrono::duration<double, std::milli>(host.wake.at(connection->key()) - at(60s)).count());
  }
  std::sort(retries.begin(), retries.end());
  std::size_t busiest = 0;
  for (std::size_t first = 0, last = 0; first < retries.size(); ++first) {
    while (last < retries.size() && retries[last] < retries[first] + 100) ++last;
    busiest = std::max(busiest, last - first);
  }
  return busiest;
}

}  // namespace

TEST_CASE("reconnect spread: 5000 closed at once, default backoff: at most a tenth in any 100 ms", "[unit]") {
  const std::size_t busiest = busiestAfterRestart(5000, 1s);
  INFO("busiest 100 ms: " << busiest << " of 5000");
  CHECK(busiest <= 500);
  // Spread, not merely delayed: a tenth is well above what the draws give.
  CHECK(busiest <= 400);
}

TEST_CASE("reconnect spread: the window widens with the herd, not for small targets", "[unit]") {
  CHECK(herdWindow(10) < 1s);
  CHECK(herdWindow(2500) == 1s);
  CHECK(herdWindow(5000) == 2s);
  CHECK(herdWindow(10000) == 4s);
  // A longer configured backoff_initial is kept.
  const std::size_t busiest = busiestAfterRestart(5000, 3s);
  INFO("busiest 100 ms with backoff_initial 3 s: " << busiest);
  CHECK(busiest <= 300);
}
