// The idle probe against real endpoints: what ends it, how it reconnects,
// and wsprobe_idle_timeout_seconds as /metrics shows it.
#include <catch2/catch.hpp>
#include <cmath>

#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/scrape.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

// The estimate's arithmetic (three lifetimes within 5 %) is held on simulated
// time in idle_timeout_estimator_test. Here, what a loaded machine cannot
// blur: no idle connection outlives the server's silence by less than its
// timeout (less the time it took wsprobe to see its 101), nor, on loopback,
// by half a second more.
bool nearTimeout(double seconds, double timeout) { return seconds >= timeout - 0.1 && seconds < timeout + 0.5; }

EndpointBehaviour idleTimeout(std::chrono::milliseconds after) {
  EndpointBehaviour behaviour;
  behaviour.idle_timeout = after;
  return behaviour;
}

}  // namespace

TEST_CASE("idle probe: dropped by an idle timeout as 1006 abnormal, reconnected, and the timeout estimated",
          "[integration]") {
  MisbehavingEndpoint server(idleTimeout(400ms));
  AgentUnderTest probe(targetBlock("quiet", server.url("/ws"), "idle_probe = true"));
  // Known once three idle lifetimes agree: three drops and two reconnects.
  REQUIRE(probe.waitForMetric("wsprobe_idle_timeout_seconds", {{"target", "quiet"}}, 0.1, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  const double estimate = *sampleValue(text, "wsprobe_idle_timeout_seconds", {{"target", "quiet"}});
  CHECK(nearTimeout(estimate, 0.4));
  CHECK(*sampleValue(text, "wsprobe_disconnects_total",
                     {{"target", "quiet"}, {"mode", "idle"}, {"code", "1006"}, {"cause", "abnormal"}}) >= 3);
  CHECK(*sampleValue(text, "wsprobe_reconnects_total", {{"target", "quiet"}, {"mode", "idle"}}) >= 2);
  CHECK(sampleValue(text, "wsprobe_connections_desired", {{"target", "quiet"}, {"mode", "idle"}}) == 1);
  // The heartbeat connection (pings every 200 ms) never went quiet: it lives.
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "quiet"}, {"mode", "heartbeat"}}));
  CHECK(sampleValue(text, "wsprobe_reconnects_total", {{"target", "quiet"}, {"mode", "heartbeat"}}) == 0);
  const double lifetimes =
      *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", {{"target", "quiet"}, {"mode", "idle"}});
  const double ends = *sampleValue(text, "wsprobe_connection_lifetime_seconds_count",
                                   {{"target", "quiet"}, {"mode", "idle"}});
  CHECK(nearTimeout(lifetimes / ends, 0.4));
}

TEST_CASE("idle probe: the estimate follows the path when its timeout changes", "[integration]") {
  MisbehavingEndpoint shorter(idleTimeout(300ms));
  MisbehavingEndpoint longer(idleTimeout(700ms));
  AgentUnderTest probe(targetBlock("path", shorter.url("/ws"), "idle_probe = true\nconnections = 0"));
  REQUIRE(probe.waitForMetric("wsprobe_idle_timeout_seconds", {{"target", "path"}}, 0.1, 10s));
  const double shorter_estimate = *probe.metric("wsprobe_idle_timeout_seconds", {{"target", "path"}});
  CHECK(nearTimeout(shorter_estimate, 0.3));
  // The same target now reaches the endpoint through a path with a longer
  // timeout: the old estimate goes with the change, and the gauge is back
  // once three new lifetimes agree.
  probe.setConfig(targetBlock("path", longer.url("/ws"), "idle_probe = true\nconnections = 0"));
  REQUIRE_FALSE(probe.agent().reload());
  CHECK_FALSE(probe.metric("wsprobe_idle_timeout_seconds", {{"target", "path"}}));
  REQUIRE(probe.waitForMetric("wsprobe_idle_timeout_seconds", {{"target", "path"}}, 0.6, 10s));
  const double longer_estimate = *probe.metric("wsprobe_idle_timeout_seconds", {{"target", "path"}});
  CHECK(nearTimeout(longer_estimate, 0.7));
  CHECK(longer_estimate > shorter_estimate + 0.2);
}

TEST_CASE("idle probe: sends nothing, and past idle_probe_max wsprobe closes it (agent) and reads +Inf",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  AgentUnderTest probe(targetBlock("patient", server.url("/ws"),
                                   "idle_probe = true\nconnections = 0\nidle_probe_max = \"600ms\""));
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total",
                              {{"target", "patient"}, {"mode", "idle"}, {"code", "1000"}, {"cause", "agent"}},
                              1, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  const auto estimate = sampleValue(text, "wsprobe_idle_timeout_seconds", {{"target", "patient"}});
  REQUIRE(estimate);
  CHECK(std::isinf(*estimate));
  CHECK(*estimate > 0);
  // It lived to the bound, then closed cleanly with a close frame.
  CHECK(*sampleValue(text, "wsprobe_connection_lifetime_seconds_sum",
                     {{"target", "patient"}, {"mode", "idle"}}) >= 0.6);
  CHECK(server.waitUntil([&] { return !server.closeCodesReceived().empty(); }, 2000ms));
  CHECK(server.closeCodesReceived().front() == 1000);
  CHECK(server.abnormalClosures() == 0);
  // Nothing but the close frame ever went from the idle connection to the server.
  CHECK(server.pingsReceived() == 0);
  CHECK(server.messagesReceived() == 0);
  // And it reconnects like any other connection.
  CHECK(probe.waitForMetric("wsprobe_reconnects_total", {{"target", "patient"}, {"mode", "idle"}}, 1, 5s));
}
