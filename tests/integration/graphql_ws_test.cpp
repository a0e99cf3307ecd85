// GraphQL over WebSocket against the real libraries (tests/servers/
// graphql_server.js): graphql-ws 6.0.6 at /graphql, subscriptions-transport-ws
// 0.11.0 at /legacy and /subscriptions, graphql 16.11.0.
#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "support/server_process.h"
#include "support/targets_api.h"

using namespace wsprobe::testing;
using namespace std::chrono_literals;

namespace {

std::string url(const ServerProcess &server, const std::string &path) {
  return "ws://127.0.0.1:" + std::to_string(server.port()) + path;
}

const std::string kSubscribeTicks =
    "subscribe = [\"subscription { ticks }\"]\n";

} // namespace

TEST_CASE("graphql-ws: held past the server's 3 s init timeout and its "
          "keepalives, pongs are app RTTs",
          "[integration]") {
  // The library's default connectionInitWaitTimeout (3 s) closed a silent
  // client with 4408; ping frames every 500 ms, and a graphql-ws ping message
  // every 500 ms that the client must answer.
  auto server = ServerProcess::node(
      "graphql_server.js", {"--keepalive", "500", "--server-ping", "500"});
  AgentUnderTest probe(targetBlock("gql", url(*server, "/graphql"),
                                   "protocol = \"graphql-ws\"\nping_interval = "
                                   "\"300ms\"\nidle_probe = true\n" +
                                       kSubscribeTicks));
  // Fifteen app round trips at one per 300 ms: over 4.5 s held, past the init
  // timeout and nine keepalive periods.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count",
                              {{"target", "gql"}}, 15, 30s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver output:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_connections_open",
                    {{"target", "gql"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open",
                    {{"target", "gql"}, {"mode", "idle"}}) == 1);
  CHECK_FALSE(
      sampleValue(text, "wsprobe_disconnects_total", {{"target", "gql"}}));
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                          {{"target", "gql"}}));
  CHECK(sampleValue(text, "wsprobe_message_gap_seconds_count",
                    {{"target", "gql"}})
            .value_or(0) >= 5);
  // Two connections (heartbeat and idle) opened once each, none closed, and
  // the server's pings were answered (by the idle one too).
  CHECK(server->linesStartingWith("opened").size() == 2);
  CHECK(server->linesStartingWith("closed").empty());
  CHECK(server->linesStartingWith("pong").size() >= 10);
}

TEST_CASE("graphql-ws: a refused token is a session failure with the server's "
          "code (4403)",
          "[integration]") {
  auto server = ServerProcess::node("graphql_server.js", {"--token", "right"});
  AgentUnderTest probe(targetBlock("gql", url(*server, "/graphql"),
                                   "protocol = \"graphql-ws\"\nsession = { "
                                   "payload = { token = \"wrong\" } }\n") +
                       targetBlock("welcome", url(*server, "/graphql"),
                                   "protocol = \"graphql-ws\"\nsession = { "
                                   "payload = { token = \"right\" } }\n"));
  REQUIRE(probe.waitForMetric(
      "wsprobe_connection_failures_total",
      {{"target", "gql"}, {"stage", "session"}, {"status", "4403"}}, 2, 20s));
  REQUIRE(probe.waitForMetric("wsprobe_connections_open",
                              {{"target", "welcome"}}, 1, 20s));
  const std::string text = probe.scrape();
  INFO(text);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "gql"}})
            .value_or(0) == 0);
  // Refused sessions never opened: failures, no disconnects.
  CHECK_FALSE(
      sampleValue(text, "wsprobe_disconnects_total", {{"target", "gql"}}));
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                          {{"target", "welcome"}}));
}

TEST_CASE("graphql-ws: a subscription whose publisher stops ends as stale "
          "within message_timeout + 1 s",
          "[integration]") {
  auto server =
      ServerProcess::node("graphql_server.js", {"--publish-ms", "100"});
  AgentUnderTest probe(
      targetBlock("gql", url(*server, "/graphql"),
                  "protocol = \"graphql-ws\"\nmessage_timeout = \"2s\"\n" +
                      kSubscribeTicks));
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count",
                              {{"target", "gql"}}, 5, 20s));
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", "gql"}}));

  REQUIRE(httpGet(server->port(), "/publisher/stop").status == 200);
  // message_timeout + 1 s, and half a second for the scrapes.
  CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                            {{"target", "gql"}, {"cause", "stale"}}, 1,
                            3500ms));
  const std::string text = probe.scrape();
  INFO(text);
  // Nothing else ended it.
  CHECK(sampleValue(text, "wsprobe_disconnects_total", {{"target", "gql"}}) ==
        sampleValue(text, "wsprobe_disconnects_total",
                    {{"target", "gql"}, {"cause", "stale"}}));
}

// Auto decides at the upgrade from the subprotocol the server picked (read
// from the 101's headers before libwebsockets drops them); were it missed,
// auto would take raw and the server would close with 4408 at 3 s.
TEST_CASE("graphql-ws: protocol auto with only the /graphql URL speaks "
          "graphql-transport-ws",
          "[integration]") {
  auto server = ServerProcess::node("graphql_server.js"); // init timeout 3 s
  AgentUnderTest probe(targetBlock("auto", url(*server, "/graphql"),
                                   "ping_interval = \"300ms\""));
  // App round trips exist only when the graphql-ws codec speaks; twelve of
  // them take over 3.6 s, past the init timeout.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count",
                              {{"target", "auto"}}, 12, 30s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver output:\n" << server->output());
  CHECK_FALSE(
      sampleValue(text, "wsprobe_disconnects_total", {{"target", "auto"}}));
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                          {{"target", "auto"}}));
  CHECK(server->linesStartingWith("closed").empty());
}

// subscriptions-transport-ws: the picked subprotocol makes the codec speak
// the legacy protocol (speaking graphql-transport-ws, the server's `ka`
// would end the session).
TEST_CASE("graphql-ws legacy: held with ka keepalives, data counted, "
          "connection_error refused, stale",
          "[integration]") {
  auto server = ServerProcess::node(
      "graphql_server.js",
      {"--keepalive", "500", "--publish-ms", "100", "--token", "right"});
  AgentUnderTest probe(
      targetBlock("legacy", url(*server, "/legacy"),
                  "protocol = \"graphql-ws\"\nmessage_timeout = \"2s\"\n"
                  "session = { payload = { token = \"right\" } }\n" +
                      kSubscribeTicks) +
      targetBlock("refused", url(*server, "/legacy"),
                  "protocol = \"graphql-ws\"\nsession = { payload = { token = "
                  "\"wrong\" } }\n"));
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count",
                              {{"target", "legacy"}}, 20, 20s));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total",
                              {{"target", "refused"},
                               {"stage", "session"},
                               {"status", "connection_error"}},
                              1, 20s));
  {
    const std::string text = probe.scrape();
    INFO(text << "\nserver output:\n" << server->output());
    CHECK(sampleValue(text, "wsprobe_connections_open",
                      {{"target", "legacy"}, {"mode", "heartbeat"}}) == 1);
    CHECK_FALSE(
        sampleValue(text, "wsprobe_disconnects_total", {{"target", "legacy"}}));
    // No request/reply in this protocol.
    CHECK(sampleValue(text, "wsprobe_app_rtt_seconds_count",
                      {{"target", "legacy"}})
              .value_or(0) == 0);
    CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "refused"}})
              .value_or(0) == 0);
  }
  REQUIRE(httpGet(server->port(), "/publisher/stop").status == 200);
  CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                            {{"target", "legacy"}, {"cause", "stale"}}, 1,
                            3500ms));
}

// The auto offer puts graphql-ws (legacy) first: subscriptions-transport-ws
// takes the first offered and closes with 1002 unless it is graphql-ws,
// while graphql-ws servers pick graphql-transport-ws wherever it stands.
TEST_CASE("graphql-ws legacy: protocol auto on /subscriptions speaks "
          "subscriptions-transport-ws",
          "[integration]") {
  auto server = ServerProcess::node(
      "graphql_server.js", {"--keepalive", "300", "--publish-ms", "100"});
  AgentUnderTest probe(targetBlock("auto-legacy",
                                   url(*server, "/subscriptions"),
                                   kSubscribeTicks) +
                       targetBlock("auto-modern", url(*server, "/graphql")));
  // The subscription's data flows: the legacy session was spoken. Twenty
  // gaps at 100 ms: over six of the server's `ka` periods.
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count",
                              {{"target", "auto-legacy"}}, 20, 20s));
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count",
                              {{"target", "auto-modern"}}, 3, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver output:\n" << server->output());
  for (const char *target : {"auto-legacy", "auto-modern"}) {
    INFO(target);
    const auto decided = targetProtocol(probe.port(), target);
    CHECK(decided.configured == "auto");
    CHECK(decided.in_use == "graphql-ws");
    CHECK_FALSE(
        sampleValue(text, "wsprobe_disconnects_total", {{"target", target}}));
    CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total",
                            {{"target", target}}));
  }
  CHECK(server->linesStartingWith("opened /legacy").size() == 1);
  CHECK(server->linesStartingWith("opened /graphql").size() == 1);
  CHECK(server->linesStartingWith("closed").empty());
}
