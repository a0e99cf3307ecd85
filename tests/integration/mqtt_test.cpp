// MQTT over WebSocket against Debian's mosquitto (a websockets listener on
// 127.0.0.1), through a real Agent: keepalives that hold, PINGREQ round trips,
// refused credentials, a publisher that stops, and `auto` on /mqtt.
#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/mosquitto_broker.h"
#include "support/scrape.h"
#include "support/targets_api.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;

namespace {

bool noDisconnects(const AgentUnderTest& probe, const std::string& target) {
  return !probe.metric("wsprobe_disconnects_total", {{"target", target}}).value_or(0);
}

}  // namespace

TEST_CASE("mqtt: held across keepalive periods by PINGREQs, idle connection too, with app RTT",
          "[integration]") {
  MosquittoBroker broker;
  // keepalive 2 s: mosquitto drops a client silent for 3 s. The idle
  // connection sends nothing but its keepalive PINGREQs.
  AgentUnderTest probe(targetBlock("mqtt", broker.url(),
                                   "protocol = \"mqtt\"\nidle_probe = true\nping_interval = \"500ms\"\n"
                                   "session = { keepalive = 2, version = 4 }\nsubscribe = [\"prices\"]"));
  REQUIRE(probe.waitForMetric("wsprobe_connections_open", {{"target", "mqtt"}, {"mode", "idle"}}, 1, 10s));
  REQUIRE(
      probe.waitForMetric("wsprobe_connections_open", {{"target", "mqtt"}, {"mode", "heartbeat"}}, 1, 10s));
  // Four keepalive periods and more (PINGREQs every 500 ms on the heartbeat
  // connection, every 2 s on the idle one).
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "mqtt"}}, 20, 30s));
  const auto text = probe.scrape();
  INFO(text << "\nbroker:\n" << broker.output());
  CHECK(noDisconnects(probe, "mqtt"));
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "mqtt"}, {"mode", "idle"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "mqtt"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_reconnects_total", {{"target", "mqtt"}, {"mode", "idle"}}).value_or(0) ==
        0);
  CHECK(broker.output().find("exceeded timeout") == std::string::npos);
}

TEST_CASE("mqtt: refused credentials are session failures named connack_5 (3.1.1) and connack_135 (5)",
          "[integration]") {
  MosquittoBroker broker(MosquittoBroker::Credentials{"probe", "right"});
  AgentUnderTest probe(
      targetBlock("v311", broker.url(),
                  "protocol = \"mqtt\"\nsession = { username = \"probe\", password = \"wrong\" }") +
      targetBlock(
          "v5", broker.url(),
          "protocol = \"mqtt\"\nsession = { version = 5, username = \"probe\", password = \"wrong\" }") +
      targetBlock("good", broker.url(),
                  "protocol = \"mqtt\"\nsession = { username = \"probe\", password = \"right\" }"));
  CHECK(probe.waitForMetric("wsprobe_connection_failures_total",
                            {{"target", "v311"}, {"stage", "session"}, {"status", "connack_5"}}, 2, 10s));
  CHECK(probe.waitForMetric("wsprobe_connection_failures_total",
                            {{"target", "v5"}, {"stage", "session"}, {"status", "connack_135"}}, 2, 10s));
  CHECK(probe.waitForMetric("wsprobe_connections_open", {{"target", "good"}, {"mode", "heartbeat"}}, 1, 10s));
  const auto text = probe.scrape();
  INFO(text);
  // Refused sessions never opened: no ends, and nothing open.
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "v311"}}).value_or(0) == 0);
  CHECK(noDisconnects(probe, "v311"));
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "good"}}).value_or(0));
}

TEST_CASE("mqtt: a subscription whose publisher stops ends as stale within message_timeout + 1 s",
          "[integration]") {
  MosquittoBroker broker;
  MosquittoBroker::Publisher publisher(broker, "prices", 100ms);
  AgentUnderTest probe(targetBlock(
      "feed", broker.url(), "protocol = \"mqtt\"\nsubscribe = [\"prices\"]\nmessage_timeout = \"1s\""));
  // Data flows: gaps observed, and nothing stale while it does.
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "feed"}}, 10, 15s));
  CHECK_FALSE(
      probe.metric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}).value_or(0));
  publisher.stop();
  const auto stopped = std::chrono::steady_clock::now();
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}, 1, 5s));
  CHECK(std::chrono::steady_clock::now() - stopped <= 2s);  // message_timeout + 1 s
}

TEST_CASE("mqtt: protocol auto on /mqtt offers the mqtt subprotocol and speaks MQTT", "[integration]") {
  MosquittoBroker broker;
  MosquittoBroker::Publisher publisher(broker, "prices", 100ms);
  // Nothing but the URL (and what to subscribe to): mosquitto picks the
  // offered "mqtt", which decides the protocol.
  AgentUnderTest probe(targetBlock("auto", broker.url(), "subscribe = [\"prices\"]"));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "auto"}}, 1, 10s));
  // PINGREQ/PINGRESP round trips and the subscription's messages: MQTT spoken.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "auto"}}, 10, 15s));
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "auto"}}, 5, 15s));
  const auto decided = targetProtocol(probe.port(), "auto");
  const auto text = probe.scrape();
  INFO(text << "\nbroker:\n" << broker.output());
  CHECK(decided.configured == "auto");
  CHECK(decided.in_use == "mqtt");
  CHECK(noDisconnects(probe, "auto"));
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "auto"}}).value_or(0));
}
