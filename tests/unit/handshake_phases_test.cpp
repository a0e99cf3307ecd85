// The phases of a handshake from what the connection monitor recorded and
// how far the transport said the attempt got; the failure stage from the
// phase reached. Time is passed in.
#include "probes/handshake_phases.h"

#include <catch2/catch.hpp>

using namespace wsprobe;
using namespace std::chrono_literals;
using Dns = ConnectionTrace::Dns;
using Phase = HandshakePhase;

namespace {

const TimePoint kStart = atOffset(100s);

ConnectionTrace resolved() {
  ConnectionTrace trace;
  trace.dns = Dns::resolved;
  trace.dns_time = 2ms;
  trace.addresses = {"192.0.2.10", "2001:db8::10"};
  trace.peer = "192.0.2.10";
  return trace;
}

std::vector<Phase> phasesOf(const HandshakePhases& phases) {
  std::vector<Phase> out;
  for (const auto& [phase, time] : phases.completed) out.push_back(phase);
  return out;
}

}  // namespace

TEST_CASE("handshake phases: a wss:// connection that opened went through all four, timed by the monitor",
          "[unit]") {
  ConnectionTrace trace = resolved();
  trace.tcp_time = 3ms;
  trace.tls_time = 7ms;
  trace.upgrade_time = 4ms;
  const auto phases = handshakePhases(trace, Phase::upgrade, true, true, kStart, kStart + 20ms);
  CHECK(phases.reached == Phase::upgrade);
  CHECK(phases.answered);
  REQUIRE(phases.completed.size() == 4);
  CHECK(phases.completed[0] == std::pair{Phase::dns, Duration(2ms)});
  CHECK(phases.completed[1] == std::pair{Phase::tcp, Duration(3ms)});
  CHECK(phases.completed[2] == std::pair{Phase::tls, Duration(7ms)});
  CHECK(phases.completed[3] == std::pair{Phase::upgrade, Duration(4ms)});
  CHECK(phases.in_reached == Duration::zero());
  CHECK(phases.addresses == std::vector<std::string>{"192.0.2.10", "2001:db8::10"});
  CHECK(phases.peer == "192.0.2.10");
}

TEST_CASE(
    "handshake phases: ws:// has no TLS phase, and a phase measured as 0 us still counts as gone through",
    "[unit]") {
  ConnectionTrace trace = resolved();
  trace.tcp_time = Duration::zero();  // connected at once
  trace.upgrade_time = 1ms;
  const auto phases = handshakePhases(trace, Phase::upgrade, true, false, kStart, kStart + 4ms);
  CHECK(phasesOf(phases) == std::vector<Phase>{Phase::dns, Phase::tcp, Phase::upgrade});
  CHECK(phases.completed[1].second == Duration::zero());
}

TEST_CASE("handshake phases: the phase reached, and the time spent in it, for attempts that failed",
          "[unit]") {
  struct Case {
    const char* what;
    ConnectionTrace trace;
    Phase begun;  // the last phase the transport reported as begun
    bool secure;
    Phase reached;
    std::vector<Phase> completed;
    Duration in_reached;
  };
  ConnectionTrace nxdomain;
  nxdomain.dns = Dns::no_result;
  nxdomain.dns_time = 40ms;
  ConnectionTrace unreachable = nxdomain;
  unreachable.dns = Dns::unreachable;
  ConnectionTrace refused = resolved();  // connect() failed: the monitor has no TCP time
  ConnectionTrace tls_refused = resolved();
  tls_refused.tcp_time = 1ms;
  ConnectionTrace unanswered = tls_refused;  // TLS done, the upgrade never answered
  unanswered.tls_time = 5ms;
  const std::vector<Case> cases = {
      {"NXDOMAIN", nxdomain, Phase::dns, false, Phase::dns, {}, 100ms},
      {"resolver unreachable", unreachable, Phase::dns, true, Phase::dns, {}, 100ms},
      // The record shows the lookup done even without the transport's word.
      {"refused, no mark", refused, Phase::dns, false, Phase::tcp, {Phase::dns}, 98ms},
      {"refused", refused, Phase::tcp, false, Phase::tcp, {Phase::dns}, 98ms},
      {"certificate rejected", tls_refused, Phase::tls, true, Phase::tls, {Phase::dns, Phase::tcp}, 97ms},
      // The record shows TLS done: the upgrade had begun.
      {"closed after TLS",
       unanswered,
       Phase::tls,
       true,
       Phase::upgrade,
       {Phase::dns, Phase::tcp, Phase::tls},
       92ms},
      // A ws:// connection goes from TCP straight to the upgrade.
      {"ws:// closed after TCP",
       tls_refused,
       Phase::tls,
       false,
       Phase::upgrade,
       {Phase::dns, Phase::tcp},
       97ms},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto phases = handshakePhases(c.trace, c.begun, false, c.secure, kStart, kStart + 100ms);
    CHECK(phases.reached == c.reached);
    CHECK_FALSE(phases.answered);
    CHECK(phasesOf(phases) == c.completed);
    CHECK(phases.in_reached == c.in_reached);
  }
}

TEST_CASE("handshake phases: the time in the phase reached is never negative", "[unit]") {
  // The monitor's clock and the engine's are read at different moments.
  ConnectionTrace trace = resolved();
  trace.dns_time = 30ms;
  const auto phases = handshakePhases(trace, Phase::tcp, false, false, kStart, kStart + 20ms);
  CHECK(phases.in_reached == Duration::zero());
}

TEST_CASE("handshake phases: the failure stage is the phase reached, in SPEC's stage names", "[unit]") {
  struct Case {
    Phase reached;
    bool answered;
    int http_status;
    bool timed_out;
    FailureStage stage;
  };
  const std::vector<Case> cases = {
      {Phase::dns, false, 0, false, FailureStage::dns},
      {Phase::tcp, false, 0, false, FailureStage::tcp},
      {Phase::tls, false, 0, false, FailureStage::tls},
      // Upgrade answered with another status: http; answered 101 but not
      // accepted (a wrong Sec-WebSocket-Accept), or never answered: protocol.
      {Phase::upgrade, true, 403, false, FailureStage::http},
      {Phase::upgrade, true, 503, false, FailureStage::http},
      {Phase::upgrade, true, 101, false, FailureStage::protocol},
      {Phase::upgrade, false, 0, false, FailureStage::protocol},
      // wsprobe's own connect_timeout ended it: timeout, but while the name
      // was still being looked up (libwebsockets retries until then) dns.
      {Phase::dns, false, 0, true, FailureStage::dns},
      {Phase::tcp, false, 0, true, FailureStage::timeout},
      {Phase::upgrade, false, 0, true, FailureStage::timeout},
  };
  for (const auto& c : cases) {
    INFO("phase " << toString(c.reached) << " status " << c.http_status << " timed out " << c.timed_out);
    HandshakePhases phases;
    phases.reached = c.reached;
    phases.answered = c.answered;
    CHECK(failureStage(phases, c.http_status, c.timed_out) == c.stage);
  }
}
