// ActionCable against a real Rails cable server from Debian packages
// (ruby-actioncable under puma, tests/servers/actioncable_server.rb), through
// a real Agent. One server for the whole test: Ruby takes seconds to load.
#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/scrape.h"
#include "support/server_process.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;

TEST_CASE("actioncable: held across server pings, app RTT, refused token, stale channel, auto",
          "[integration]") {
  // PricesChannel broadcasts every 100 ms for the server's first 10 s, then stops.
  const auto server =
      ServerProcess::startAnnouncing({"ruby", testServersDirectory() + "/actioncable_server.rb",
                                      "--interval-ms", "100", "--stop-after-s", "10"},
                                     90s);
  const auto url = [&](const std::string& path) {
    return "ws://127.0.0.1:" + std::to_string(server->port()) + path;
  };
  AgentUnderTest probe(
      targetBlock("held", url("/cable"),
                  "protocol = \"actioncable\"\nidle_probe = true\nsubscribe = [\"PricesChannel\"]") +
      targetBlock("refused", url("/cable?token=bad"), "protocol = \"actioncable\"") +
      targetBlock("feed", url("/cable"),
                  "protocol = \"actioncable\"\nsubscribe = [\"PricesChannel\"]\nmessage_timeout = \"1s\"") +
      targetBlock("auto", url("/cable"), "subscribe = [\"PricesChannel\"]"));

  // The session opens at the welcome; the subscription's confirmation is an app RTT.
  REQUIRE(probe.waitForMetric("wsprobe_connections_open", {{"target", "held"}, {"mode", "idle"}}, 1, 15s));
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "held"}}, 1, 15s));
  CHECK(probe.waitForMetric("wsprobe_connection_failures_total",
                            {{"target", "refused"}, {"stage", "session"}, {"status", "unauthorized"}}, 1,
                            15s));
  // auto: the server picked actioncable-v1-json and spoke first; data flows.
  CHECK(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "auto"}}, 3, 15s));
  CHECK(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "auto"}}, 1, 15s));

  // The publisher stops: the subscribed target goes stale within message_timeout + 1 s.
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "feed"}}, 10, 15s));
  REQUIRE(waitFor([&] { return !server->linesStartingWith("publisher stopped").empty(); }, 20s));
  const auto stopped = std::chrono::steady_clock::now();
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}, 1, 5s));
  CHECK(std::chrono::steady_clock::now() - stopped <= 2s);

  // Held across at least three of the server's 3 s pings with no end, the
  // idle connection too, although no data came after the publisher stopped.
  REQUIRE(
      probe.waitForMetric("wsprobe_connections_open", {{"target", "held"}, {"mode", "heartbeat"}}, 1, 1s));
  const auto text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "held"}}).value_or(0));
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "auto"}}).value_or(0));
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "held"}, {"mode", "idle"}}) == 1);
  CHECK_FALSE(sampleValue(text, "wsprobe_connections_open", {{"target", "refused"}}).value_or(0));
}
