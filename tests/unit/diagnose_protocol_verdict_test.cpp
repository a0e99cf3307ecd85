// The verdict of `wsprobe diagnose` about application protocols and where a
// round trip goes: observations built by hand, the findings they must give.
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnose/verdict.h"

using namespace wsprobe;
using namespace wsprobe::diagnose;
using namespace std::chrono_literals;

namespace {

Duration secondsOf(double value) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

// Every connection opened at once and stayed open, answering every heartbeat.
Observations steadyRun(const std::string& url, const std::string& protocol_in_use, double run_for = 120) {
  Observations seen;
  seen.url = url;
  seen.planned = seen.ran = secondsOf(run_for);
  seen.ping_interval = 5s;
  seen.pong_timeout = 10s;
  seen.protocol_in_use = protocol_in_use;
  for (const Probe probe : {Probe::ping, Probe::idle}) {
    ProbeRecord& record = seen.of(probe);
    record.ran = true;
    record.attempts = 1;
    record.handshakes = {12ms};
    record.open_at_finish = secondsOf(run_for - static_cast<double>(probe));
    if (probe == Probe::ping) record.rtts = {1ms, 1ms, 1ms};
  }
  return seen;
}

// Both connections closed by the server every `lifetime` seconds.
void serverClosesEvery(Observations& seen, double lifetime, int code, const std::string& reason) {
  for (const Probe probe : {Probe::ping, Probe::idle}) {
    ProbeRecord& record = seen.of(probe);
    const double offset = static_cast<double>(probe);
    for (double at = lifetime + offset; at < seconds(seen.ran); at += lifetime + 0.4) {
      record.ends.push_back({code, CloseCause::server_close, reason, secondsOf(lifetime), secondsOf(at)});
      record.attempts++;
      record.handshakes.push_back(12ms);
    }
  }
}

std::string ids(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& finding : findings) out += (out.empty() ? "" : " ") + finding.id;
  return out;
}

struct Row {
  const char* name;
  std::function<Observations()> observations;
  std::string expected_ids;
  int exit_status;
  std::vector<std::string> text;  // in the first finding's summary or detail
  std::vector<std::string> absent;  // in no finding
};

}  // namespace

TEST_CASE("diagnose verdict: protocols and round trips", "[unit]") {
  const std::vector<Row> rows = {
      {"socket.io spoken as raw: closed after 45 s, not an intermediary",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:3000/socket.io/?EIO=***&transport=***", "raw", 150);
         serverClosesEvery(seen, 45.0, 1005, "");
         return seen;
       },
       "protocol_not_spoken",
       1,
       {"socketio", "protocol = \"socketio\"", "--protocol socketio", "no intermediary"},
       {"intermediary ignores", "pings_not_enough"}},
      {"graphql-ws spoken as raw: 4408 after 3 s",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:4000/graphql", "raw", 30);
         serverClosesEvery(seen, 3.0, 4408, "Connection initialisation timeout");
         return seen;
       },
       "protocol_not_spoken",
       1,
       {"4408", "Connection initialisation timeout", "graphql-ws", "protocol = \"graphql-ws\"", "session"},
       {}},
      {"an unknown application code right after connect on a plain URL: protocol unnamed",
       [] {
         auto seen = steadyRun("wss://chat.example.com/ws", "", 30);
         serverClosesEvery(seen, 2.0, 4001, "hello expected");
         return seen;
       },
       "protocol_not_spoken",
       1,
       {"4001", "the server's application protocol", "--protocol"},
       {}},
      {"an application code from a server whose protocol wsprobe speaks stays the application's",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:4000/graphql", "graphql-ws", 30);
         serverClosesEvery(seen, 2.0, 4403, "Forbidden");
         return seen;
       },
       "server_close",
       1,
       {"4403", "application's own"},
       {"protocol_not_spoken"}},
      {"a refused session names the protocol and its setting",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:4000/graphql", "graphql-ws", 30);
         seen.of(Probe::ping).failures.push_back(
             {FailureStage::session, 0, "closed", 1s, "4403 Forbidden"});
         seen.of(Probe::ping).attempts++;
         return seen;
       },
       "session_refused handshake_flaky no_idle_timeout_below",
       1,
       {"graphql-ws session handshake failed", "4403 Forbidden", "protocol = \"graphql-ws\"",
        "no intermediary"},
       {}},
      {"ping RTT far above TCP RTT: the server's event loop",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:8080/", "raw");
         seen.of(Probe::ping).rtts = {40ms, 45ms, 50ms};
         seen.of(Probe::ping).tcp_rtts = {200us, 250us, 300us};
         return seen;
       },
       "server_event_loop_slow healthy no_idle_timeout_below",
       0,
       {"event loop is slow, not the network", "45.00 ms", "0.25 ms"},
       {}},
      {"ping RTT near TCP RTT: nothing said",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:8080/", "raw");
         seen.of(Probe::ping).tcp_rtts = {800us, 900us, 1ms};
         return seen;
       },
       "healthy no_idle_timeout_below",
       0,
       {},
       {}},
      {"app RTT far above ping RTT: the application",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:4000/graphql", "graphql-ws");
         seen.of(Probe::ping).tcp_rtts = {1ms};
         seen.of(Probe::ping).app_rtts = {80ms, 85ms, 90ms, 95ms, 100ms};
         return seen;
       },
       "application_slow healthy no_idle_timeout_below",
       0,
       {"application behind a fast WebSocket stack is slow", "90.00 ms"},
       {}},
      {"two app round trips far above ping RTT (socket.io's CONNECTs): too few to say",
       [] {
         auto seen = steadyRun("ws://127.0.0.1:4000/socket.io/", "socketio");
         seen.of(Probe::ping).tcp_rtts = {1ms};
         seen.of(Probe::ping).app_rtts = {40ms};
         seen.of(Probe::idle).app_rtts = {30ms};
         return seen;
       },
       "healthy no_idle_timeout_below",
       0,
       {},
       {"application"}},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      const auto findings = judge(row.observations());
      INFO("findings: " << ids(findings));
      CHECK(ids(findings) == row.expected_ids);
      CHECK(exitStatus(findings) == row.exit_status);
      REQUIRE_FALSE(findings.empty());
      const std::string said = findings.front().summary + "\n" + findings.front().detail;
      INFO(said);
      for (const auto& text : row.text) CHECK_THAT(said, Catch::Matchers::Contains(text));
      std::string everything;
      for (const auto& finding : findings) everything += finding.id + " " + finding.summary + " " + finding.detail;
      for (const auto& text : row.absent) CHECK_THAT(everything, !Catch::Matchers::Contains(text));
    }
  }
}

TEST_CASE("diagnose verdict: the protocol a URL or a close points to", "[unit]") {
  CHECK(likelyProtocol("ws://h:1/socket.io/?EIO=4&transport=websocket", 1000, "") == "socketio");
  CHECK(likelyProtocol("ws://h:1/graphql", 1000, "") == "graphql-ws");
  CHECK(likelyProtocol("ws://h:1/api", 4408, "Connection initialisation timeout") == "graphql-ws");
  CHECK(likelyProtocol("ws://h:1/socket/websocket?vsn=2.0.0", 1000, "") == "phoenix");
  CHECK(likelyProtocol("ws://h:1/cable", 1000, "") == "actioncable");
  CHECK(likelyProtocol("wss://chat.example.com/ws", 1000, "") == "");
  CHECK(likelyProtocol("wss://chat.example.com/ws?next=/graphql", 1000, "") == "");
}
