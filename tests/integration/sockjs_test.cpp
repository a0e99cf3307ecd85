// wsprobe as a SockJS client of a real sockjs-node 0.3.24 server
// (tests/servers/sockjs_server.js, prefix /echo) over its websocket transport.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "support/server_process.h"

using namespace wsprobe::testing;
using namespace std::chrono_literals;

namespace {

std::string sockjsUrl(const ServerProcess& server, const std::string& session = "wsprobe1") {
  return "ws://127.0.0.1:" + std::to_string(server.port()) + "/echo/000/" + session + "/websocket";
}

}  // namespace

TEST_CASE("sockjs: held across the server's heartbeats, the subscription echoed back as data",
          "[integration]") {
  auto server = ServerProcess::node("sockjs_server.js", {"--heartbeat=200"});
  AgentUnderTest probe(targetBlock("sjs", sockjsUrl(*server),
                                   "protocol = \"sockjs\"\nidle_probe = true\nsubscribe = [\"prices\"]"));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "sjs"}}, 1, 20s));
  REQUIRE(waitFor([&] { return server->linesStartingWith("message prices").size() == 1; }, 5s));
  // Ten RFC 6455 pings at 200 ms: ten of the server's heartbeat periods.
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "sjs"}}, 10, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "sjs"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "sjs"}, {"mode", "idle"}}) == 1);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "sjs"}}));
  CHECK(server->linesStartingWith("open").size() == 2);
  // Only the heartbeat connection subscribes.
  CHECK(server->linesStartingWith("message").size() == 1);
}

TEST_CASE("sockjs: a stream whose publisher stops ends as stale within message_timeout + 1 s",
          "[integration]") {
  auto server = ServerProcess::node("sockjs_server.js", {"--heartbeat=200", "--publish-every=100"});
  AgentUnderTest probe(
      targetBlock("feed", sockjsUrl(*server), "protocol = \"sockjs\"\nmessage_timeout = \"1s\""));
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "feed"}}, 10, 20s));
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}));
  ::kill(server->pid(), SIGUSR1);  // the publisher stops; heartbeats go on and are not data
  const bool stale =
      probe.waitForMetric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}, 1, 2s);
  INFO("server:\n" << server->output());
  CHECK(stale);
}

TEST_CASE("sockjs: a session the server closes in-band ends with the SockJS close code", "[integration]") {
  auto server = ServerProcess::node("sockjs_server.js", {"--close-with=4403"});
  AgentUnderTest probe(targetBlock("closed", sockjsUrl(*server), "protocol = \"sockjs\""));
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total", {{"target", "closed"}, {"code", "4403"}}, 2, 20s));
}

TEST_CASE("sockjs: protocol auto picks sockjs from the URL alone", "[integration]") {
  auto server = ServerProcess::node("sockjs_server.js", {"--heartbeat=200"});
  AgentUnderTest probe(targetBlock("auto", sockjsUrl(*server)));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "auto"}}, 1, 20s));
  const auto api = httpGet(probe.port(), "/api/v1/targets");
  INFO(api.body);
  CHECK(api.status == 200);
  CHECK(api.body.find("\"sockjs\"") != std::string::npos);
}

TEST_CASE("sockjs: the service's base URL is upgraded on a fresh /<server>/<session>/websocket",
          "[integration]") {
  // As with sockjs-client, the user gives the service's URL (prefix /echo);
  // the server takes WebSocket clients only below it.
  auto server = ServerProcess::node("sockjs_server.js", {"--heartbeat=200"});
  const std::string base = "ws://127.0.0.1:" + std::to_string(server->port()) + "/echo";
  AgentUnderTest probe(
      targetBlock("base", base, "protocol = \"sockjs\"\nidle_probe = true\nsubscribe = [\"prices\"]") +
      targetBlock("slash", base + "/", "protocol = \"sockjs\""));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "base"}}, 1, 20s));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "slash"}}, 1, 20s));
  // The subscription came back as data through the session.
  REQUIRE(waitFor([&] { return server->linesStartingWith("message prices").size() == 1; }, 5s));
  // Ten pings at 200 ms: ten of the server's heartbeat periods.
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "base"}}, 10, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "base"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "base"}, {"mode", "idle"}}) == 1);
  for (const char* target : {"base", "slash"}) {
    INFO(target);
    CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", target}}));
    CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", target}}));
  }
  CHECK(server->linesStartingWith("open").size() == 3);
}
