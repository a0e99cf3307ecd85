// Data-frame heartbeats (heartbeat = "message") against real endpoints,
// alone and side by side with ping heartbeats.
#include <catch2/catch.hpp>

#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/scrape.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

const std::string kMessageHeartbeat =
    "heartbeat = \"message\"\nheartbeat_message = '{\"type\":\"ping\"}'\nheartbeat_expect = "
    "'\"type\":\\s*\"pong\"'";

EndpointBehaviour answersPongMessages() {
  EndpointBehaviour behaviour;
  behaviour.reply_to_messages = R"({"type": "pong"})";
  return behaviour;
}

}  // namespace

TEST_CASE("message heartbeat: text frames out, matching replies measured as RTT, data frames counted",
          "[integration]") {
  MisbehavingEndpoint server(answersPongMessages());
  AgentUnderTest probe(targetBlock("app", server.url("/ws"), kMessageHeartbeat));
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "app"}}, 5, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "app"}}) == 1);
  CHECK(*sampleValue(text, "wsprobe_messages_sent_total", {{"target", "app"}}) >= 5);
  CHECK(*sampleValue(text, "wsprobe_messages_received_total", {{"target", "app"}}) >= 5);
  const double rtt_count = *sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "app"}});
  // Each round trip measured is a heartbeat message the server got and answered.
  CHECK(rtt_count <= server.messagesReceived());
  CHECK(sampleValue(text, "wsprobe_ping_rtt_seconds_bucket", {{"target", "app"}, {"le", "0.1"}}) ==
        rtt_count);
  // Data frames, not ping frames.
  CHECK(server.pingsReceived() == 0);
  CHECK(server.messagesReceived() >= 5);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "app"}}));
}

TEST_CASE("message heartbeat: replies that do not match heartbeat_expect end it as pong_timeout",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});  // echoes {"type":"ping"} back: no "pong" in it
  AgentUnderTest probe(targetBlock("echo", server.url("/ws"), kMessageHeartbeat));
  REQUIRE(probe.waitForMetric(
      "wsprobe_disconnects_total",
      {{"target", "echo"}, {"mode", "heartbeat"}, {"code", "1006"}, {"cause", "pong_timeout"}}, 1, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  CHECK(*sampleValue(text, "wsprobe_messages_received_total", {{"target", "echo"}}) >= 1);
  CHECK_FALSE(sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "echo"}}).value_or(0) > 0);
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "echo"}}) == 0);
}

TEST_CASE("ping and message heartbeats side by side: a balancer that ignores pings drops only the pinged",
          "[integration]") {
  EndpointBehaviour balancer = answersPongMessages();
  balancer.idle_timeout = 500ms;
  balancer.pings_reset_idle = false;  // only data frames count as activity
  MisbehavingEndpoint server(balancer);
  AgentUnderTest probe(targetBlock("pinged", server.url("/ws")) +
                       targetBlock("messaged", server.url("/ws"), kMessageHeartbeat));
  // Three drops of the pinged connection: at least 1.5 s in which the one
  // sending data frames had to survive the same timeout three times over.
  REQUIRE(probe.waitForMetric(
      "wsprobe_disconnects_total",
      {{"target", "pinged"}, {"mode", "heartbeat"}, {"code", "1006"}, {"cause", "abnormal"}}, 3, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  // Pings were answered all along: the balancer cut the connection anyway.
  CHECK(*sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "pinged"}}) >= 3);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "messaged"}}));
  CHECK(sampleValue(text, "wsprobe_reconnects_total", {{"target", "messaged"}, {"mode", "heartbeat"}}) == 0);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "messaged"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "messaged"}}) == 1);
  CHECK(*sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "messaged"}}) >= 6);
}
