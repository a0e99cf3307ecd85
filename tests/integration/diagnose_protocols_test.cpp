// `wsprobe diagnose` against unmodified npm servers that close clients which
// do not take part in their protocol (socket.io 4, graphql-ws): configured
// with nothing but the URL (protocol auto), it finds no problem and says
// which protocol it spoke. Where the URL gives no hint (a SockJS base URL, a
// legacy GraphQL server at a path of its own), it names the setting that
// works, and with that setting finds no problem.

#include <atomic>
#include <catch2/catch.hpp>

#include "agent/diagnose/report.h"
#include "agent/diagnose/session.h"
#include "agent/diagnose/verdict.h"
#include "support/server_process.h"

using namespace wsprobe;
using namespace wsprobe::diagnose;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using wsprobe::testing::ServerProcess;

namespace {

Observations diagnoseUrl(const std::string& url, const std::string& protocol = "auto") {
  Request request;
  request.protocol = protocol;
  std::string error;
  const auto parsed = parseWebSocketUrl(url, &error);
  REQUIRE(parsed);
  request.url = *parsed;
  request.duration = 4s;
  request.ping_interval = 500ms;
  request.pong_timeout = 2s;
  request.connect_timeout = 3s;
  request.stagger = 300ms;
  const std::atomic<bool> stop{false};
  return run(request, {}, stop);
}

void checkNoProblem(const Observations& seen, const std::string& protocol,
                    const std::string& requested = "auto") {
  const auto findings = judge(seen);
  INFO(renderText(seen, findings));
  CHECK(seen.protocol == requested);
  CHECK(seen.protocol_in_use == protocol);
  CHECK(exitStatus(findings) == 0);
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "healthy");
  CHECK(seen.of(Probe::ping).ends.empty());
  CHECK(seen.of(Probe::idle).ends.empty());
  CHECK_FALSE(seen.of(Probe::ping).rtts.empty());
  CHECK_THAT(renderText(seen, findings), Contains("protocol: " + protocol));
  CHECK_THAT(renderJson(seen, findings), Contains("\"protocol_in_use\": \"" + protocol + "\""));
}

}  // namespace

TEST_CASE("diagnose protocols: a socket.io server, URL only, is no problem", "[integration]") {
  // An Engine.IO ping every second, answered within 1.5 s or the server
  // closes: a client that does not answer them is closed well within the run.
  auto server = ServerProcess::node("socketio_server.js", {"--ping-interval=1000", "--ping-timeout=1500"});
  const Observations seen = diagnoseUrl("ws://127.0.0.1:" + std::to_string(server->port()) +
                                        "/socket.io/?EIO=4&transport=websocket");
  checkNoProblem(seen, "socketio");
}

TEST_CASE("diagnose protocols: a graphql-ws server, URL only, is no problem", "[integration]") {
  // connection_init must come within 1 s, or the server closes with 4408.
  auto server = ServerProcess::node("graphql_server.js", {"--init-timeout", "1000"});
  const Observations seen = diagnoseUrl("ws://127.0.0.1:" + std::to_string(server->port()) + "/graphql");
  checkNoProblem(seen, "graphql-ws");
}

TEST_CASE("diagnose protocols: a SockJS base URL answers 200 and the advice names protocol sockjs",
          "[integration]") {
  // sockjs-node answers its base URL, upgrade or not, with 200 "Welcome to SockJS!".
  auto server = ServerProcess::node("sockjs_server.js", {});
  const std::string url = "ws://127.0.0.1:" + std::to_string(server->port()) + "/echo";
  const Observations seen = diagnoseUrl(url);
  const auto findings = judge(seen);
  INFO(renderText(seen, findings));
  CHECK(exitStatus(findings) == 1);
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "handshake_failed");
  // The finding as diagnose prints it, before the report wraps its lines.
  const std::string text = findings.front().summary + " " + findings.front().detail;
  CHECK_THAT(text, Contains("HTTP 200"));
  CHECK_THAT(text, Contains("Welcome to SockJS!"));
  CHECK_THAT(text, Contains("protocol = \"sockjs\""));
  CHECK_THAT(text, Contains("--protocol sockjs"));
  // What the advice says works.
  checkNoProblem(diagnoseUrl(url, "sockjs"), "sockjs", "sockjs");
}

TEST_CASE("diagnose protocols: a legacy GraphQL server at a path with no hint closes with 1002 and the "
          "advice names protocol graphql-ws",
          "[integration]") {
  // subscriptions-transport-ws closes a client that offers no subprotocol
  // with 1002 at once; /legacy says nothing about GraphQL.
  auto server = ServerProcess::node("graphql_server.js", {});
  const std::string url = "ws://127.0.0.1:" + std::to_string(server->port()) + "/legacy";
  const Observations seen = diagnoseUrl(url);
  const auto findings = judge(seen);
  INFO(renderText(seen, findings));
  CHECK(exitStatus(findings) == 1);
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "protocol_not_spoken");
  const std::string text = findings.front().summary + " " + findings.front().detail;
  CHECK_THAT(text, Contains("with 1002"));
  CHECK_THAT(text, Contains("subscriptions-transport-ws"));
  CHECK_THAT(text, Contains("protocol = \"graphql-ws\""));
  CHECK_THAT(text, Contains("--protocol graphql-ws"));
  checkNoProblem(diagnoseUrl(url, "graphql-ws"), "graphql-ws", "graphql-ws");
}
