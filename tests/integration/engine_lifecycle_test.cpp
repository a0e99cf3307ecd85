// Calls into the engine from other threads around its start and shutdown:
// every call into an engine that is not running (never started, or stopped)
// is a defined no-op, and calls racing a shutdown end (with an answer or with
// nothing), never crash or hang.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "probes/engine.h"
#include "testbed/misbehaving_endpoint.h"

using namespace wsprobe;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

struct CountingObserver final : ProbeObserver {
  std::atomic<int> attempts{0};
  std::atomic<int> agent_closes{0};
  void onAttempt(ConnectionMode, bool) override { ++attempts; }
  void onFailure(ConnectionMode, const ConnectionFailure &) override {}
  void onOpen(ConnectionMode, Duration) override {}
  void onEnd(const ConnectionEnd &end) override {
    if (end.cause == CloseCause::agent)
      ++agent_closes;
  }
  void onRoundTrip(Duration) override {}
  void onOpenCount(ConnectionMode, int) override {}
  void onUp(bool) override {}
  void onMessageSent() override {}
  void onMessageReceived() override {}
  void onIdleTimeoutEstimate(double) override {}
};

TargetSpec targetFor(const std::string &name, const std::string &url,
                     int connections) {
  TargetSpec spec;
  spec.name = name;
  std::string error;
  spec.url = *parseWebSocketUrl(url, &error);
  spec.connections = connections;
  spec.ping_interval = 1s;
  return spec;
}

// Polls `condition` until it holds or `timeout` passes.
template <typename Condition>
bool waitFor(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

int openConnections(Engine &engine) {
  int open = 0;
  for (const TargetStatus &target : engine.status()) {
    for (const ConnectionStatus &connection : target.connections)
      open += connection.state == "open";
  }
  return open;
}

} // namespace

TEST_CASE("engine: calls into an engine never started or already stopped do nothing",
    "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  auto observer = std::make_shared<CountingObserver>();
  {
    Engine never_started;
    CHECK(never_started.status().empty());
    never_started.addTarget(targetFor("a", server.url("/ws"), 1), observer);
    never_started.removeTarget("a");
    CHECK(never_started.status().empty());
    never_started.shutdown(100ms);
    never_started.shutdown(100ms);
  }
  CHECK(observer->attempts == 0);

  Engine engine;
  std::string error;
  REQUIRE(engine.start(&error));
  engine.addTarget(targetFor("a", server.url("/ws"), 1), observer);
  REQUIRE(waitFor([&] { return openConnections(engine) == 1; }, 10s));
  engine.shutdown(2s);
  CHECK(observer->agent_closes == 1); // closed by the shutdown, reported first
  REQUIRE(server.waitUntil([&] { return !server.closeCodesReceived().empty(); },
                           5000ms));
  CHECK(server.closeCodesReceived() == std::vector<int>{1001});

  const int attempts = observer->attempts;
  CHECK(engine.status().empty());
  engine.addTarget(targetFor("b", server.url("/ws"), 1), observer);
  engine.removeTarget("a");
  CHECK(engine.status().empty());
  CHECK(observer->attempts == attempts);
  engine.shutdown(100ms);
}

TEST_CASE("engine: status requests racing a shutdown end with an answer or "
          "nothing, never hang",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  constexpr int kRounds = 5;
  constexpr int kCallers = 4;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    auto engine = std::make_shared<Engine>();
    std::string error;
    REQUIRE(engine->start(&error));
    engine->addTarget(targetFor("t", server.url("/ws"), 2),
                      std::make_shared<CountingObserver>());
    REQUIRE(waitFor([&] { return openConnections(*engine) == 2; }, 10s));

    // Callers ask for the status in a loop while the engine shuts down, and
    // go on a little after it has: bounded by count and by time.
    auto stopped = std::make_shared<std::atomic<bool>>(false);
    std::vector<std::future<int>> callers;
    for (int i = 0; i < kCallers; ++i) {
      callers.push_back(std::async(std::launch::async, [engine, stopped] {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        int after_stop = 0;
        int empty_after_stop = 0;
        for (int call = 0; call < 10000000 && after_stop < 200 &&
                           std::chrono::steady_clock::now() < deadline;
             ++call) {
          const bool was_stopped = *stopped;
          const bool empty = engine->status().empty();
          if (was_stopped) {
            ++after_stop;
            empty_after_stop += empty;
          }
        }
        return empty_after_stop;
      }));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(20 * round)); // different points of the race
    engine->shutdown(1500ms);
    *stopped = true;
    for (auto &caller : callers) {
      // A caller stuck in status() after the shutdown is the defect itself.
      REQUIRE(caller.wait_for(15s) == std::future_status::ready);
      CHECK(caller.get() == 200); // a stopped engine answers with nothing
    }
  }
}
