// STOMP over WebSocket against RabbitMQ's web-stomp (Debian's rabbitmq-server
// 3.10, on ws_path /stomp: protocol auto decides from it). The broker takes
// long to boot, so this is one test case (ctest runs each in its own process,
// and each process boots its own broker).
#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/rabbitmq_broker.h"
#include "support/scrape.h"
#include "support/targets_api.h"

using namespace wsprobe::testing;
using namespace std::chrono_literals;

TEST_CASE("stomp: RabbitMQ web-stomp holds wsprobe across heart-beats, answers "
          "receipts, refuses bad "
          "credentials, a stopped publisher ends the subscription as stale, and "
          "auto on /stomp speaks STOMP",
          "[integration]") {
  auto &broker = RabbitMqBroker::shared();
  StompPublisher publisher(broker.webStompUrl(), "/topic/ticks", 100ms);
  // Heart-beats every 500 ms both ways: RabbitMQ drops a client that misses
  // them.
  AgentUnderTest probe(
      targetBlock("stomp", broker.webStompUrl(),
                  "protocol = \"stomp\"\n"
                  "session = { login = \"guest\", passcode = \"guest\", "
                  "heart_beat = \"500,500\" }\n"
                  "subscribe = [\"/topic/ticks\"]\nmessage_timeout = "
                  "\"2s\"\nping_interval = \"300ms\"\n"
                  "idle_probe = true") +
      targetBlock("refused", broker.webStompUrl(),
                  "protocol = \"stomp\"\nsession = { login = \"guest\", "
                  "passcode = \"wrong\" }") +
      // Nothing but the URL: its /stomp path has auto offer STOMP's
      // subprotocols, RabbitMQ picks v12.stomp (and logs it in as its
      // default user, guest).
      targetBlock("auto", broker.webStompUrl()));

  // Twelve receipts at one per 300 ms: over 3.6 s held, seven heart-beat
  // periods each way.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count",
                              {{"target", "stomp"}}, 12, 30s));
  REQUIRE(probe.waitForMetric(
      "wsprobe_connection_failures_total",
      {{"target", "refused"}, {"stage", "session"}, {"status", "error_frame"}},
      1, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "auto"}}, 1,
                              10s));
  {
    const auto decided = targetProtocol(probe.port(), "auto");
    CHECK(decided.configured == "auto");
    CHECK(decided.in_use == "stomp");
  }
  {
    const std::string text = probe.scrape();
    INFO(text);
    CHECK(sampleValue(text, "wsprobe_connections_open",
                      {{"target", "stomp"}, {"mode", "heartbeat"}}) == 1);
    CHECK(sampleValue(text, "wsprobe_connections_open",
                      {{"target", "stomp"}, {"mode", "idle"}}) == 1);
    CHECK_FALSE(
        sampleValue(text, "wsprobe_disconnects_total", {{"target", "stomp"}}));
    CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                            {{"target", "stomp"}}));
    CHECK(sampleValue(text, "wsprobe_message_gap_seconds_count",
                      {{"target", "stomp"}})
              .value_or(0) >= 10);
    CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "refused"}})
              .value_or(0) == 0);
    CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total",
                            {{"target", "refused"}}));
    // STOMP receipts are its app RTT: the session is spoken, not just held.
    CHECK(sampleValue(text, "wsprobe_app_rtt_seconds_count",
                      {{"target", "auto"}})
              .value_or(0) >= 1);
    CHECK_FALSE(
        sampleValue(text, "wsprobe_disconnects_total", {{"target", "auto"}}));
    CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                            {{"target", "auto"}}));
  }

  publisher.stop();
  // message_timeout + 1 s, and half a second for the scrapes.
  CHECK(probe.waitForMetric(
      "wsprobe_disconnects_total",
      {{"target", "stomp"}, {"mode", "heartbeat"}, {"cause", "stale"}}, 1,
      3500ms));
  INFO(probe.scrape());
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total",
                           {{"target", "stomp"}, {"mode", "idle"}}));
}
