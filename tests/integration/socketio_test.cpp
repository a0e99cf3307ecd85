// wsprobe as a Socket.IO client of a real socket.io 4.8.1 server
// (tests/servers/socketio_server.js) with short keepalive periods.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "support/server_process.h"
#include "support/targets_api.h"

using namespace wsprobe::testing;
using namespace std::chrono_literals;

namespace {

std::string socketioUrl(const ServerProcess& server, int engine_io = 4) {
  return "ws://127.0.0.1:" + std::to_string(server.port()) + "/socket.io/?EIO=" + std::to_string(engine_io) +
         "&transport=websocket";
}

// The server pings every 300 ms and drops a client that has not answered
// (v4) or pinged (v3) within 500 ms.
const std::vector<std::string> kShortKeepalive = {"--ping-interval=300", "--ping-timeout=200"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE("socketio: held across the server's keepalives, the ack_event's round trip as app RTT",
          "[integration]") {
  auto server = ServerProcess::node("socketio_server.js", with(kShortKeepalive, {"--ack-event=rtt"}));
  AgentUnderTest probe(targetBlock("sio", socketioUrl(*server),
                                   "protocol = \"socketio\"\nidle_probe = true\n"
                                   "session = { ack_event = \"rtt\" }"));
  // 12 acknowledgements at 200 ms: at least 2.4 s, eight of the server's ping periods.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "sio"}}, 12, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "sio"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "sio"}, {"mode", "heartbeat"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "sio"}, {"mode", "idle"}}) == 1);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "sio"}}));
  // Acknowledged at once on loopback: every app round trip is under a second
  // (one timed from anything but its own event would be seconds long).
  const double app_rtts = *sampleValue(text, "wsprobe_app_rtt_seconds_count", {{"target", "sio"}});
  CHECK(sampleValue(text, "wsprobe_app_rtt_seconds_bucket", {{"target", "sio"}, {"le", "1"}}) == app_rtts);
  // RFC 6455 pings keep being measured beside it.
  CHECK(*sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "sio"}}) >= 5);
  CHECK(server->linesStartingWith("connect ").size() == 2);
  CHECK(server->linesStartingWith("disconnect").empty());
}

TEST_CASE("socketio: Engine.IO v3 is held by the client's own pings, whose pongs are app RTT",
          "[integration]") {
  auto server = ServerProcess::node("socketio_server.js", with(kShortKeepalive, {"--allow-eio3"}));
  AgentUnderTest probe(targetBlock("sio3", socketioUrl(*server, 3), "protocol = \"socketio\""));
  // Pings every 300 ms (the server's pingInterval): six of them, 1.8 s.
  REQUIRE(probe.waitForMetric("wsprobe_app_rtt_seconds_count", {{"target", "sio3"}}, 6, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "sio3"}, {"mode", "heartbeat"}}) == 1);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "sio3"}}));
  CHECK(server->linesStartingWith("disconnect").empty());
}

TEST_CASE("socketio: a CONNECT refused for bad auth is a failure at stage session", "[integration]") {
  auto server = ServerProcess::node("socketio_server.js", with(kShortKeepalive, {"--token=good"}));
  AgentUnderTest probe(targetBlock("bad", socketioUrl(*server),
                                   "protocol = \"socketio\"\nsession = { auth = { token = \"wrong\" } }") +
                       targetBlock("good", socketioUrl(*server),
                                   "protocol = \"socketio\"\nsession = { auth = { token = \"good\" } }"));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total",
                              {{"target", "bad"}, {"stage", "session"}, {"status", "connect_error"}}, 2,
                              20s));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "good"}}, 1, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "bad"}}) == 0);
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "good"}}));
  CHECK(server->linesStartingWith("refused").size() >= 2);
}

TEST_CASE("socketio: a subscription whose publisher stops ends as stale within message_timeout + 1 s",
          "[integration]") {
  auto server = ServerProcess::node("socketio_server.js",
                                    with(kShortKeepalive, {"--publish-every=100", "--publish-event=prices",
                                                           "--subscribe-event=subscribe"}));
  AgentUnderTest probe(targetBlock("feed", socketioUrl(*server),
                                   "protocol = \"socketio\"\nsession = { subscribe_event = \"subscribe\" }\n"
                                   "subscribe = [\"EURUSD\"]\nmessage_timeout = \"1s\""));
  REQUIRE(probe.waitForMetric("wsprobe_message_gap_seconds_count", {{"target", "feed"}}, 10, 20s));
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}));
  ::kill(server->pid(), SIGUSR1);  // the publisher stops
  const bool stale =
      probe.waitForMetric("wsprobe_disconnects_total", {{"target", "feed"}, {"cause", "stale"}}, 1, 2s);
  INFO("server:\n" << server->output());
  CHECK(stale);
  CHECK_FALSE(server->linesStartingWith("stopped publishing").empty());
}

TEST_CASE("socketio: protocol auto picks socketio from the URL alone", "[integration]") {
  auto server = ServerProcess::node("socketio_server.js", kShortKeepalive);
  AgentUnderTest probe(targetBlock("auto", socketioUrl(*server)));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "auto"}}, 1, 20s));
  // Held past several of the server's ping periods: its pings were answered.
  REQUIRE(waitFor([&] { return server->linesStartingWith("connect ").size() == 1; }, 5s));
  const auto api = httpGet(probe.port(), "/api/v1/targets");
  INFO(api.body << "\nserver:\n" << server->output());
  CHECK(api.status == 200);
  CHECK(api.body.find("\"socketio\"") != std::string::npos);
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "auto"}}, 10, 20s));
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", "auto"}}));
  CHECK(server->linesStartingWith("disconnect").empty());
}

TEST_CASE("socketio: bare /socket.io/ URLs, protocol auto and socketio, upgrade as socket.io-client does",
          "[integration]") {
  // Without EIO=4&transport=websocket the server answers the upgrade with
  // 400: wsprobe adds them, as the official client does.
  auto server = ServerProcess::node("socketio_server.js", kShortKeepalive);
  const std::string bare = "ws://127.0.0.1:" + std::to_string(server->port()) + "/socket.io/";
  AgentUnderTest probe(targetBlock("bare-auto", bare) +
                       targetBlock("bare-sio", bare, "protocol = \"socketio\"\nidle_probe = true") +
                       targetBlock("no-slash", "ws://127.0.0.1:" + std::to_string(server->port()) +
                                                   "/socket.io?client=wsprobe",
                                   "protocol = \"socketio\""));
  for (const char* target : {"bare-auto", "bare-sio", "no-slash"}) {
    REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", target}}, 1, 20s));
  }
  // Ten RFC 6455 pings at 200 ms each: over six of the server's ping periods.
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "bare-auto"}}, 10, 20s));
  const std::string text = probe.scrape();
  INFO(text << "\nserver:\n" << server->output());
  CHECK(server->linesStartingWith("connect ").size() == 4);
  CHECK(server->linesStartingWith("disconnect").empty());
  for (const char* target : {"bare-auto", "bare-sio", "no-slash"}) {
    INFO(target);
    CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", target}}));
    CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", target}}));
  }
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "bare-sio"}, {"mode", "idle"}}) == 1);
  // auto decided socketio from the path alone.
  const auto decided = targetProtocol(probe.port(), "bare-auto");
  CHECK(decided.found);
  CHECK(decided.configured == "auto");
  CHECK(decided.in_use == "socketio");
}
