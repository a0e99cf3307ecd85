// What the engine measures, seen where operators see it: real misbehaving
// WebSocket endpoints on 127.0.0.1:0, a real agent, assertions on /metrics.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "probes/library_allocator.h"
#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "support/tls_endpoint.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Attempts that got through `phase` (wsprobe_handshake_phase_seconds_count).
double phaseCount(const std::string& text, const std::string& target, const std::string& phase) {
  return sampleValue(text, "wsprobe_handshake_phase_seconds_count", {{"target", target}, {"phase", phase}})
      .value_or(-1);
}

}  // namespace

TEST_CASE("a healthy endpoint: open connections, RTT, handshake time, up", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  AgentUnderTest probe(targetBlock("healthy", server.url("/ws"), "connections = 3"));
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "healthy"}}, 6, 10s));
  const std::string text = probe.scrape();
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "healthy"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "healthy"}, {"mode", "heartbeat"}}) == 3);
  CHECK(sampleValue(text, "wsprobe_connections_desired", {{"target", "healthy"}, {"mode", "heartbeat"}}) == 3);
  CHECK(sampleValue(text, "wsprobe_connection_attempts_total", {{"target", "healthy"}}) == 3);
  CHECK(sampleValue(text, "wsprobe_handshake_duration_seconds_count", {{"target", "healthy"}}) == 3);
  // Loopback: every round trip is well under 100 ms; and one answered
  // heartbeat is one observation (a ping the server saw, a pong it sent).
  const double rtt_count = *sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "healthy"}});
  CHECK(sampleValue(text, "wsprobe_ping_rtt_seconds_bucket", {{"target", "healthy"}, {"le", "0.1"}}) == rtt_count);
  CHECK(rtt_count <= server.pongsSent());
  CHECK(server.pingsReceived() >= 6);
  CHECK(server.openConnections() == 3);
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "healthy"}}));
}

// probes/library_allocator.h: libwebsockets still names a header table's
// blocks as the allocator expects (else they would share the service
// thread's malloc arena again), and none outlives its handshake.
TEST_CASE("each handshake's header table is on pages of its own, unmapped once the connection is open",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  const std::size_t made = pageBackedBlocksMade();
  AgentUnderTest probe(targetBlock("tables", server.url("/ws"), "connections = 4"));
  REQUIRE(probe.waitForMetric("wsprobe_handshake_duration_seconds_count", {{"target", "tables"}}, 4, 10s));
  // Two blocks per handshake (the table and its data).
  CHECK(pageBackedBlocksMade() - made >= 2 * 4);
  CHECK(waitFor([] { return pageBackedBlocks() == 0; }, 5s));
}

TEST_CASE("a good connection: each phase of its handshake is timed, and they add up to less than the whole",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  AgentUnderTest probe(targetBlock("phases", server.url("/ws"), "connections = 2"));
  REQUIRE(probe.waitForMetric("wsprobe_handshake_duration_seconds_count", {{"target", "phases"}}, 2, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  CHECK(phaseCount(text, "phases", "dns") == 2);
  CHECK(phaseCount(text, "phases", "tcp") == 2);
  CHECK(phaseCount(text, "phases", "upgrade") == 2);
  CHECK(phaseCount(text, "phases", "tls") == 0);  // ws://
  double phases_sum = 0;
  for (const char* phase : {"dns", "tcp", "upgrade"}) {
    phases_sum += *sampleValue(text, "wsprobe_handshake_phase_seconds_sum", {{"target", "phases"}, {"phase", phase}});
  }
  const double whole = *sampleValue(text, "wsprobe_handshake_duration_seconds_sum", {{"target", "phases"}});
  CHECK(phases_sum <= whole);
  // The upgrade is a real round trip to the server: measured, not zero.
  CHECK(*sampleValue(text, "wsprobe_handshake_phase_seconds_sum", {{"target", "phases"}, {"phase", "upgrade"}}) > 0);
  // Every phase of a loopback handshake is within the first buckets.
  CHECK(sampleValue(text, "wsprobe_handshake_phase_seconds_bucket",
                    {{"target", "phases"}, {"phase", "upgrade"}, {"le", "0.25"}}) == 2);
}

TEST_CASE("a host name is looked up off the service thread: localhost opens, its lookup is the dns phase",
          "[integration]") {
  // localhost comes from /etc/hosts: getaddrinfo() on a resolver thread, its
  // answer handed to libwebsockets, which connects as before.
  MisbehavingEndpoint server(EndpointBehaviour{});
  AgentUnderTest probe(
      targetBlock("named", "ws://localhost:" + std::to_string(server.port()) + "/ws", "connections = 2"));
  REQUIRE(probe.waitForMetric("wsprobe_connections_open", {{"target", "named"}}, 2, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "named"}}, 1, 10s));
  const std::string text = probe.scrape();
  INFO(text);
  CHECK(phaseCount(text, "named", "dns") == 2);
  CHECK(phaseCount(text, "named", "tcp") == 2);
  CHECK(*sampleValue(text, "wsprobe_handshake_phase_seconds_sum", {{"target", "named"}, {"phase", "dns"}}) >
        0);
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "named"}}));
}

TEST_CASE("a pong delayed by the server is measured as that delay", "[integration]") {
  EndpointBehaviour slow;
  slow.pong_delay = 150ms;
  MisbehavingEndpoint server(slow);
  AgentUnderTest probe(targetBlock("slow", server.url("/ws")));
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "slow"}}, 3, 10s));
  const std::string text = probe.scrape();
  const double mean = *sampleValue(text, "wsprobe_ping_rtt_seconds_sum", {{"target", "slow"}}) /
                      *sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "slow"}});
  CHECK(mean >= 0.150);
  CHECK(mean < 0.200);
  CHECK(sampleValue(text, "wsprobe_ping_rtt_seconds_bucket", {{"target", "slow"}, {"le", "0.1"}}) == 0);
}

TEST_CASE("server close codes are counted exactly as sent, 1012 and 1013 included", "[integration]") {
  EndpointBehaviour closes;
  closes.close_after = 150ms;
  closes.close_codes = {1000, 1001, 1011, 1012, 1013, 4001};
  closes.close_reason = "scheduled";
  MisbehavingEndpoint server(closes);
  AgentUnderTest probe(targetBlock("closes", server.url("/ws")));
  for (const char* code : {"1000", "1001", "1011", "1012", "1013", "4001"}) {
    INFO("close code " << code);
    CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                              {{"target", "closes"}, {"code", code}, {"cause", "server_close"}, {"mode", "heartbeat"}},
                              1, 15s));
  }
  const std::string text = probe.scrape();
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "closes"}, {"code", "1002"}}));
  CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "closes"}, {"code", "1006"}}));
  CHECK(*sampleValue(text, "wsprobe_reconnects_total", {{"target", "closes"}, {"mode", "heartbeat"}}) >= 5);
}

TEST_CASE("close codes no peer may send are protocol_error 1002 and answered with 1002, a real 1002 is not",
          "[integration]") {
  // 999 and 1004-1006 are the ones libwebsockets rewrote to 1002 before wsprobe saw them.
  const std::vector<int> invalid = {999, 1004, 1005, 1006, 1015, 1016, 2999, 5000};
  std::vector<std::unique_ptr<MisbehavingEndpoint>> servers;
  std::string config;
  for (const int code : invalid) {
    EndpointBehaviour closes;
    closes.close_after = 150ms;
    closes.close_codes = {code};
    servers.push_back(std::make_unique<MisbehavingEndpoint>(closes));
    config += targetBlock("close-" + std::to_string(code), servers.back()->url("/ws"));
  }
  EndpointBehaviour genuine;
  genuine.close_after = 150ms;
  genuine.close_codes = {1002};
  MisbehavingEndpoint genuine_server(genuine);
  config += targetBlock("close-1002", genuine_server.url("/ws"));
  AgentUnderTest probe(config);
  for (std::size_t i = 0; i < invalid.size(); ++i) {
    const std::string name = "close-" + std::to_string(invalid[i]);
    INFO("target " << name);
    CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                              {{"target", name}, {"code", "1002"}, {"cause", "protocol_error"}}, 1, 15s));
    CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", name}, {"cause", "server_close"}}));
    const std::vector<int> answers = servers[i]->closeCodesReceived();
    CHECK_FALSE(answers.empty());
    for (const int answer : answers) CHECK(answer == 1002);
  }
  CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                            {{"target", "close-1002"}, {"code", "1002"}, {"cause", "server_close"}}, 1, 15s));
  CHECK_FALSE(
      probe.metric("wsprobe_disconnects_total", {{"target", "close-1002"}, {"cause", "protocol_error"}}));
}

TEST_CASE("a close frame without a code is counted as 1005", "[integration]") {
  EndpointBehaviour closes;
  closes.close_after = 150ms;  // no close_codes: an empty close payload
  MisbehavingEndpoint server(closes);
  AgentUnderTest probe(targetBlock("nocode", server.url("/ws")));
  CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                            {{"target", "nocode"}, {"code", "1005"}, {"cause", "server_close"}}, 1, 10s));
}

TEST_CASE("a drop without a close frame is 1006 abnormal, by FIN or by RST", "[integration]") {
  const bool with_reset = GENERATE(false, true);
  INFO("reset: " << with_reset);
  EndpointBehaviour drops;
  drops.drop_after = 200ms;
  drops.drop_with_reset = with_reset;
  MisbehavingEndpoint server(drops);
  AgentUnderTest probe(targetBlock("drops", server.url("/ws")));
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total",
                              {{"target", "drops"}, {"code", "1006"}, {"cause", "abnormal"}}, 2, 10s));
  CHECK(probe.waitForMetric("wsprobe_reconnects_total", {{"target", "drops"}, {"mode", "heartbeat"}}, 2, 5s));
  CHECK_FALSE(probe.metric("wsprobe_disconnects_total", {{"target", "drops"}, {"cause", "server_close"}}));
}

TEST_CASE("the lifetime histogram observes a scheduled drop within 10 % of its time", "[integration]") {
  EndpointBehaviour drops;
  drops.drop_after = 2s;
  MisbehavingEndpoint server(drops);
  AgentUnderTest probe(targetBlock("scheduled", server.url("/ws")));
  REQUIRE(probe.waitForMetric("wsprobe_connection_lifetime_seconds_count",
                              {{"target", "scheduled"}, {"mode", "heartbeat"}}, 1, 10s));
  const std::string text = probe.scrape();
  const double count =
      *sampleValue(text, "wsprobe_connection_lifetime_seconds_count", {{"target", "scheduled"}, {"mode", "heartbeat"}});
  const double mean =
      *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", {{"target", "scheduled"}, {"mode", "heartbeat"}}) /
      count;
  CHECK(mean == Approx(2.0).epsilon(0.10));
  CHECK(sampleValue(text, "wsprobe_connection_lifetime_seconds_bucket",
                    {{"target", "scheduled"}, {"mode", "heartbeat"}, {"le", "1"}}) == 0);
  CHECK(sampleValue(text, "wsprobe_connection_lifetime_seconds_bucket",
                    {{"target", "scheduled"}, {"mode", "heartbeat"}, {"le", "5"}}) == count);
}

TEST_CASE("withheld pongs end the connection as 1006 pong_timeout in time", "[integration]") {
  EndpointBehaviour silent;
  silent.answer_pings = false;
  MisbehavingEndpoint server(silent);
  // ping_interval 500 ms + pong_timeout 500 ms: dropped within 1 s (+1 s).
  AgentUnderTest probe(targetBlock("silent", server.url("/ws"),
                                   "ping_interval = \"500ms\"\npong_timeout = \"500ms\"\nbackoff_initial = \"5s\"\n"
                                   "backoff_max = \"5s\""));
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total",
                              {{"target", "silent"}, {"code", "1006"}, {"cause", "pong_timeout"}}, 1, 10s));
  const std::string text = probe.scrape();
  const double lifetime =
      *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", {{"target", "silent"}, {"mode", "heartbeat"}});
  CHECK(lifetime >= 0.5);
  CHECK(lifetime <= 0.5 + 0.5 + 1.0);
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "silent"}}) == 0);
  CHECK(server.pingsReceived() >= 1);
  CHECK(server.pongsSent() == 0);
}

TEST_CASE("refused upgrades are counted under stage http with their status", "[integration]") {
  const int status = GENERATE(401, 403, 503);
  INFO("status " << status);
  EndpointBehaviour refuses;
  refuses.refuse_status = status;
  MisbehavingEndpoint server(refuses);
  AgentUnderTest probe(targetBlock("refused", server.url("/ws")));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total",
                              {{"target", "refused"}, {"stage", "http"}, {"status", std::to_string(status)}}, 2, 10s));
  const std::string text = probe.scrape();
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "refused"}}) == 0);
  CHECK_FALSE(sampleValue(text, "wsprobe_handshake_duration_seconds_count", {{"target", "refused"}}) > 0);
  CHECK(server.upgradesRefused() >= 2);
  // The attempts got to the upgrade and were answered: every phase timed.
  const double failures = *sampleValue(text, "wsprobe_connection_failures_total", {{"target", "refused"}});
  CHECK(phaseCount(text, "refused", "upgrade") == failures);
  CHECK(phaseCount(text, "refused", "tcp") == failures);
  const auto api = httpGet(probe.port(), "/api/v1/targets");
  INFO(api.body);
  CHECK(api.body.find(R"("phase":"upgrade")") != std::string::npos);
}

TEST_CASE("a closed port is a tcp failure", "[integration]") {
  AgentUnderTest probe(targetBlock("closed", "ws://127.0.0.1:" + std::to_string(closedPort()) + "/ws"));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total",
                              {{"target", "closed"}, {"stage", "tcp"}, {"status", ""}}, 2, 10s));
  // The lookup (of an address literal) went through; the connect did not.
  const std::string text = probe.scrape();
  CHECK(phaseCount(text, "closed", "dns") >= 2);
  CHECK(phaseCount(text, "closed", "tcp") == 0);
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "closed"}, {"stage", "dns"}}));
}

TEST_CASE("a host that does not resolve is a dns failure", "[integration]") {
  // .invalid never resolves (RFC 6761); the lookup stays on this machine.
  AgentUnderTest probe(targetBlock("nxdomain", "ws://wsprobe-test.invalid:80/ws"));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "nxdomain"}, {"stage", "dns"}}, 1, 10s));
  const std::string text = probe.scrape();
  CHECK(phaseCount(text, "nxdomain", "dns") == 0);
  CHECK_FALSE(sampleValue(text, "wsprobe_connection_failures_total", {{"target", "nxdomain"}, {"stage", "tcp"}}));
  const auto api = httpGet(probe.port(), "/api/v1/targets");
  INFO(api.body);
  CHECK(api.body.find(R"("phase":"dns")") != std::string::npos);
}

TEST_CASE("a server that accepts TCP and never answers is a timeout", "[integration]") {
  EndpointBehaviour mute;
  mute.never_answer = true;
  MisbehavingEndpoint server(mute);
  const auto started = std::chrono::steady_clock::now();
  AgentUnderTest probe(targetBlock("mute", server.url("/ws"), "connect_timeout = \"500ms\""));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "mute"}, {"stage", "timeout"}}, 1, 10s));
  // Not before wsprobe's own deadline.
  CHECK(seconds(std::chrono::steady_clock::now() - started) >= 0.5);
  CHECK(server.connectionsAccepted() >= 1);
}

TEST_CASE("TLS: a self-signed server fails verification, passes with ca_file or insecure_skip_verify",
          "[integration]") {
  TlsEndpoint tls;
  MisbehavingEndpoint& server = tls.server();
  REQUIRE(server.url("/ws").rfind("wss://", 0) == 0);
  {
    AgentUnderTest probe(targetBlock("tls-default", server.url("/ws")) +
                         targetBlock("tls-ca", server.url("/ws"), "tls = { ca_file = \"" + tls.caFile() + "\" }") +
                         targetBlock("tls-insecure", server.url("/ws"), "tls = { insecure_skip_verify = true }"));
    CHECK(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "tls-default"}, {"stage", "tls"}}, 1, 10s));
    CHECK(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "tls-ca"}}, 2, 10s));
    CHECK(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "tls-insecure"}}, 2, 10s));
    CHECK_FALSE(probe.metric("wsprobe_connection_failures_total", {{"target", "tls-ca"}}));
    CHECK(probe.metric("wsprobe_target_up", {{"target", "tls-default"}}) == 0);
    // Failed in TLS: TCP timed, TLS never completed; where it passed, TLS timed too.
    const std::string text = probe.scrape();
    CHECK(phaseCount(text, "tls-default", "tcp") >= 1);
    CHECK(phaseCount(text, "tls-default", "tls") == 0);
    CHECK(phaseCount(text, "tls-ca", "tls") >= 1);
    CHECK(phaseCount(text, "tls-ca", "upgrade") >= 1);
  }
}

TEST_CASE("reconnects are counted, with delays that grow", "[integration]") {
  EndpointBehaviour refuses;
  refuses.refuse_status = 503;
  MisbehavingEndpoint server(refuses);
  Engine::Settings engine;
  engine.unit_random = [] { return 1.0; };  // the jitter at its ceiling: 100, 200, 400, 800 ms
  AgentUnderTest probe(targetBlock("backoff", server.url("/ws"),
                                   "backoff_initial = \"100ms\"\nbackoff_max = \"800ms\"\nbackoff_multiplier = 2.0"),
                       engine);
  // The delays themselves (100, 200, 400, 800, 800 ms) are held on simulated
  // time in held_connection_test. What a loaded machine cannot blur: no retry
  // starts before its delay is over, so the sixth attempt comes at least
  // 2.3 s after the first was refused (a fixed 100 ms would take 0.5 s).
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(waitFor([&] { return server.upgradesRefused() >= 6; }, 10s));
  CHECK(seconds(std::chrono::steady_clock::now() - started) >= 2.3);
  CHECK(probe.waitForMetric("wsprobe_connection_failures_total",
                            {{"target", "backoff"}, {"stage", "http"}, {"status", "503"}}, 6, 5s));
  // None of them replaced a connection that had been open.
  CHECK(probe.metric("wsprobe_reconnects_total", {{"target", "backoff"}}) == 0);

  // Replacing connections that had been open counts as reconnects: every
  // attempt but the very first. A scrape can fall between the two counters,
  // so the one that read both between attempts is waited for.
  EndpointBehaviour drops;
  drops.drop_after = 100ms;
  MisbehavingEndpoint dropping(drops);
  AgentUnderTest again(targetBlock("replaced", dropping.url("/ws")));
  REQUIRE(again.waitForMetric("wsprobe_reconnects_total", {{"target", "replaced"}, {"mode", "heartbeat"}}, 3, 10s));
  std::string text;
  CHECK(waitFor(
      [&] {
        text = again.scrape();
        return *sampleValue(text, "wsprobe_connection_attempts_total", {{"target", "replaced"}}) ==
               *sampleValue(text, "wsprobe_reconnects_total", {{"target", "replaced"}, {"mode", "heartbeat"}}) + 1;
      },
      5s));
  INFO(text);
}

TEST_CASE("a server breaking the protocol is a protocol_error with wsprobe's close code", "[integration]") {
  struct Case {
    endpoints::InvalidFrame frame;
    const char* code;
  };
  const auto c = GENERATE(Case{endpoints::InvalidFrame::reserved_opcode, "1002"},
                          Case{endpoints::InvalidFrame::invalid_utf8, "1007"});
  INFO("expected code " << c.code);
  EndpointBehaviour broken;
  broken.invalid_frame = c.frame;
  MisbehavingEndpoint server(broken);
  AgentUnderTest probe(targetBlock("broken", server.url("/ws")));
  CHECK(probe.waitForMetric("wsprobe_disconnects_total",
                            {{"target", "broken"}, {"code", c.code}, {"cause", "protocol_error"}}, 1, 10s));
}

TEST_CASE("custom headers, origin, subprotocols and URL credentials are sent", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  const std::string url = "ws://probe:pa55@127.0.0.1:" + std::to_string(server.port()) + "/ws?room=1";
  AgentUnderTest probe(targetBlock("headers", url,
                                   "origin = \"https://app.example\"\nsubprotocols = [\"chat.v1\", \"chat.v2\"]\n"
                                   "headers = { \"X-Probe\" = \"yes\" }"));
  REQUIRE(server.waitUntil([&] { return server.upgradesCompleted() >= 1; }, 10000ms));
  const auto requests = server.requests();
  REQUIRE_FALSE(requests.empty());
  const auto& request = requests.front();
  CHECK(request.path == "/ws?room=1");
  INFO("origin: " << request.header("origin").value_or("(none)"));
  CHECK(request.header("origin") == "https://app.example");
  CHECK(request.header("sec-websocket-protocol") == "chat.v1, chat.v2");
  CHECK(request.header("x-probe") == "yes");
  CHECK(request.header("authorization") == "Basic cHJvYmU6cGE1NQ==");  // probe:pa55
  CHECK(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "headers"}}, 1, 5s));
}

TEST_CASE("URL credentials are percent-decoded before they are sent as basic auth", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  // user "pr obe", password "p@ss:w/rd"
  const std::string url = "ws://pr%20obe:p%40ss%3aw%2Frd@127.0.0.1:" + std::to_string(server.port()) + "/ws";
  AgentUnderTest probe(targetBlock("decoded", url));
  REQUIRE(server.waitUntil([&] { return server.upgradesCompleted() >= 1; }, 10000ms));
  const auto requests = server.requests();
  REQUIRE_FALSE(requests.empty());
  CHECK(requests.front().header("authorization") == "Basic cHIgb2JlOnBAc3M6dy9yZA==");  // pr obe:p@ss:w/rd
}

TEST_CASE("handshakes in flight are capped, queued attempts start as places free", "[integration]") {
  EndpointBehaviour mute;
  mute.never_answer = true;
  MisbehavingEndpoint silent_server(mute);
  MisbehavingEndpoint healthy_server(EndpointBehaviour{});
  Engine::Settings engine;
  engine.max_attempts_in_flight = 2;
  // Retries at the backoff's ceiling (10 s), not a full-jitter draw that may
  // fall before the second pair times out and make a fifth attempt.
  engine.unit_random = [] { return 1.0; };
  AgentUnderTest probe(targetBlock("mute", silent_server.url("/ws"),
                                   "connections = 4\nconnect_timeout = \"800ms\"\nbackoff_initial = \"10s\"\n"
                                   "backoff_max = \"10s\""),
                       engine);
  // Two places, both taken by handshakes that never complete.
  REQUIRE(silent_server.waitUntil([&] { return silent_server.connectionsAccepted() == 2; }, 5000ms));
  CHECK_FALSE(silent_server.waitUntil([&] { return silent_server.connectionsAccepted() > 2; }, 400ms));
  // Their timeouts free the places for the other two.
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "mute"}, {"stage", "timeout"}}, 4, 10s));
  CHECK(silent_server.connectionsAccepted() == 4);
  CHECK(probe.metric("wsprobe_connection_attempts_total", {{"target", "mute"}}) == 4);

  // With the places free again, a target with more connections than places opens them all.
  probe.setConfig(targetBlock("many", healthy_server.url("/ws"), "connections = 12"));
  REQUIRE(httpRequest(probe.port(), "POST", "/-/reload").status == 200);
  CHECK(probe.waitForMetric("wsprobe_connections_open", {{"target", "many"}, {"mode", "heartbeat"}}, 12, 10s));
  CHECK(healthy_server.upgradesCompleted() == 12);
}
