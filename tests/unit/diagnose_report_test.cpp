// The report of `wsprobe diagnose`, text and JSON, from fixed observations.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/diagnose/report.h"
#include "agent/diagnose/session.h"

using namespace wsprobe;
using namespace wsprobe::diagnose;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// A 12 s run behind a 3 s idle timeout: the pinged connection stayed up, the
// idle one was dropped three times.
Observations behindIdleTimeout() {
  Observations seen;
  seen.url = "ws://127.0.0.1:8080/ws";
  seen.planned = seen.ran = 12s;
  seen.ping_interval = 1s;
  seen.pong_timeout = 2s;
  seen.header_names = {"Authorization"};
  seen.subprotocols = {"chat.v1"};
  seen.phases.addresses = {"127.0.0.1"};
  seen.phases.peer = "127.0.0.1";
  seen.phases.of(HandshakePhase::dns) = {120us};
  seen.phases.of(HandshakePhase::tcp) = {80us};
  seen.phases.of(HandshakePhase::upgrade) = {3ms, 1ms, 2ms};
  ProbeRecord& ping = seen.of(Probe::ping);
  ping.ran = true;
  ping.attempts = 1;
  ping.handshakes = {1500us};
  ping.open_at_finish = 12s;
  for (int i = 1; i <= 100; ++i) ping.rtts.push_back(std::chrono::microseconds(100 * i));
  ProbeRecord& idle = seen.of(Probe::idle);
  idle.ran = true;
  idle.attempts = 4;
  idle.handshakes = {1200us, 1300us, 1400us, 1100us};
  idle.ends = {{1006, CloseCause::abnormal, "connection ended without a close frame", 3001ms, 4001ms},
               {1006, CloseCause::abnormal, "connection ended without a close frame", 3002ms, 7400ms},
               {1006, CloseCause::abnormal, "connection ended without a close frame", 3000ms, 10800ms}};
  idle.open_at_finish = 1100ms;
  return seen;
}

}  // namespace

TEST_CASE("diagnose report: percentiles are nearest-rank", "[unit]") {
  CHECK_FALSE(spreadOf({}));
  const auto one = spreadOf({5ms});
  REQUIRE(one);
  CHECK((one->min == 5ms && one->p50 == 5ms && one->p99 == 5ms && one->max == 5ms));
  std::vector<Duration> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(std::chrono::milliseconds(i));
  const auto spread = spreadOf(hundred);
  CHECK(spread->count == 100);
  CHECK(spread->min == 1ms);
  CHECK(spread->p50 == 50ms);
  CHECK(spread->p99 == 99ms);
  CHECK(spread->max == 100ms);
}

TEST_CASE("diagnose report: text with handshake phases, RTT, every end, the verdict", "[unit]") {
  const Observations seen = behindIdleTimeout();
  const auto findings = judge(seen);
  const std::string text = renderText(seen, findings);
  INFO(text);
  CHECK_THAT(text, Contains("wsprobe diagnose ws://127.0.0.1:8080/ws"));
  CHECK_THAT(text, Contains("heartbeats every 1s"));
  CHECK_THAT(text, Contains("headers sent: Authorization (values not shown)"));
  CHECK_THAT(text, Contains("DNS lookup          0.120 ms  (127.0.0.1)"));
  CHECK_THAT(text, Contains("TCP connect         0.080 ms"));
  CHECK_THAT(text, Contains("TLS handshake       none (ws://)"));
  CHECK_THAT(text, Contains("HTTP upgrade        2.00 ms median, min 1.00 ms, max 3.00 ms (3)"));
  CHECK_THAT(text, Contains("WebSocket open      1.30 ms median, min 1.10 ms, max 1.50 ms (5 handshakes"));
  CHECK_THAT(
      text,
      Contains("ping frames         min 0.100 ms  p50 5.00 ms  p99 9.90 ms  max 10.0 ms  (100 answered)"));
  CHECK_THAT(text, Contains("idle connection         4 attempts, 4 opened; 3 ends:"));
  CHECK_THAT(text, Contains("1006 abnormal after 3.00 s (at 4.0 s)"));
  CHECK_THAT(text, Contains("1006 abnormal after 3.00 s (at 10.8 s)"));
  CHECK_THAT(text, Contains("open at the finish, for 1.1 s"));
  CHECK_THAT(text, Contains("pinged connection       1 attempt, 1 opened; no drops"));
  CHECK_THAT(text, Contains("PROBLEM  Idle timeout of about 3.0 s on the path"));
  CHECK_THAT(text, Contains("Found a problem (exit status 1)."));
  // Lines stay within 100 columns.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) CHECK(line.size() <= 100);
}

TEST_CASE("diagnose report: JSON carries the same facts, header names only", "[unit]") {
  Observations seen = behindIdleTimeout();
  seen.message = R"({"type":"ping","token":"s3cret"})";
  seen.expect = "pong";
  ProbeRecord& message = seen.of(Probe::message);
  message.ran = true;
  message.attempts = 1;
  message.handshakes = {1600us};
  message.open_at_finish = 10s;
  message.rtts = {300us, 400us};
  message.messages_sent = 10;
  message.messages_received = 10;
  const auto findings = judge(seen);
  const std::string text = renderJson(seen, findings);
  CHECK(text.find("s3cret") == std::string::npos);
  const auto report = nlohmann::json::parse(text);
  CHECK(report["url"] == "ws://127.0.0.1:8080/ws");
  CHECK(report["exit_status"] == 1);
  CHECK(report["idle_timeout_seconds"].get<double>() == Approx(3.001));
  CHECK(report["headers"] == nlohmann::json::array({"Authorization"}));
  CHECK(report["handshake"]["dns_seconds"]["p50"].get<double>() == Approx(0.00012));
  CHECK(report["handshake"]["upgrade_seconds"]["count"] == 3);
  CHECK(report["handshake"]["addresses"] == nlohmann::json::array({"127.0.0.1"}));
  CHECK(report["handshake"]["tls_seconds"].is_null());
  CHECK(report["handshake"]["total_seconds"]["count"] == 6);
  CHECK(report["message_bytes"] == seen.message.size());
  REQUIRE(report["connections"].size() == 3);
  const auto& idle = report["connections"][1];
  CHECK(idle["probe"] == "idle");
  CHECK(idle["ends"].size() == 3);
  CHECK(idle["ends"][0]["code"] == 1006);
  CHECK(idle["ends"][0]["cause"] == "abnormal");
  CHECK(idle["ends"][0]["lifetime_seconds"].get<double>() == Approx(3.001));
  CHECK_FALSE(idle.contains("rtt_seconds"));
  const auto& ping = report["connections"][0];
  CHECK(ping["rtt_seconds"]["p99"].get<double>() == Approx(0.0099));
  CHECK(report["connections"][2]["messages_received"] == 10);
  REQUIRE(report["findings"].size() >= 1);
  CHECK(report["findings"][0]["id"] == "idle_timeout");
  CHECK(report["findings"][0]["severity"] == "problem");
  CHECK(report["findings"][0]["seconds"].get<double>() == Approx(3.001));
}

TEST_CASE("diagnose report: the URL is shown without credentials or query values", "[unit]") {
  std::string error;
  const auto url =
      parseWebSocketUrl("wss://user:pa55@chat.example.com/ws?access_token=abc&room=1&flag", &error);
  REQUIRE(url);
  const std::string shown = url->redacted();
  CHECK(shown == "wss://***@chat.example.com/ws?access_token=***&room=***&flag");
  CHECK(parseWebSocketUrl("ws://h:81/p", &error)->redacted() == "ws://h:81/p");
}
