// `wsprobe diagnose` sessions against real misbehaving endpoints: its own
// engine, the progress it shows, and the verdict the observations give.

#include <atomic>
#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "agent/diagnose/report.h"
#include "agent/diagnose/session.h"
#include "agent/diagnose/verdict.h"
#include "testbed/misbehaving_endpoint.h"
#include "support/time_scale.h"
#include "support/tls_endpoint.h"

using namespace wsprobe;
using namespace wsprobe::diagnose;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

Request requestFor(const MisbehavingEndpoint& server, Duration duration) {
  Request request;
  std::string error;
  request.url = *parseWebSocketUrl(server.url("/ws"), &error);
  request.duration = duration;
  request.ping_interval = 200ms;
  request.pong_timeout = 1s;
  request.connect_timeout = 2s;
  request.stagger = 500ms;
  return request;
}

std::string ids(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& finding : findings) out += (out.empty() ? "" : " ") + finding.id;
  return out;
}

}  // namespace

TEST_CASE("diagnose session: a healthy endpoint, on a terminal", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  std::ostringstream progress;
  const std::atomic<bool> stop{false};
  // 1.5 s, longer in sanitized builds: enough for at least five pings either way.
  const auto duration = testing::scaled(1500ms);
  const Observations seen = run(requestFor(server, duration), {&progress, true}, stop);
  const auto findings = judge(seen);
  INFO(renderText(seen, findings));
  CHECK(ids(findings) == "healthy no_idle_timeout_below");
  CHECK(exitStatus(findings) == 0);
  CHECK(seen.ran >= duration);
  CHECK(seen.of(Probe::ping).rtts.size() >= 5);
  CHECK(seen.of(Probe::idle).open_at_finish);
  CHECK_FALSE(seen.of(Probe::message).ran);
  // The phases of the connections' own handshakes, one sample per open.
  const int opens = seen.of(Probe::ping).opens() + seen.of(Probe::idle).opens();
  CHECK(seen.phases.of(HandshakePhase::dns).size() == static_cast<std::size_t>(opens));
  CHECK(seen.phases.of(HandshakePhase::tcp).size() == static_cast<std::size_t>(opens));
  CHECK(seen.phases.of(HandshakePhase::tls).empty());
  CHECK(seen.phases.of(HandshakePhase::upgrade).size() == static_cast<std::size_t>(opens));
  CHECK(seen.phases.addresses == std::vector<std::string>{"127.0.0.1"});
  CHECK(seen.phases.peer == "127.0.0.1");
  // One line rewritten in place, events above it; none left at the end.
  CHECK_THAT(progress.str(), Contains("\r\x1b[K"));
  CHECK_THAT(progress.str(), Contains("ping: open"));
  CHECK_THAT(progress.str(), Contains("pinged connection open (handshake"));
  CHECK_THAT(progress.str(), Catch::Matchers::EndsWith("\r\x1b[K"));  // the status line wiped
  // The idle connection sent nothing: every ping the server saw came from the pinged one.
  CHECK(server.messagesReceived() == 0);
}

TEST_CASE("diagnose session: a balancer that ignores pings, shown by the data-frame connection",
          "[integration]") {
  EndpointBehaviour balancer;
  balancer.idle_timeout = 1s;
  balancer.pings_reset_idle = false;
  balancer.reply_to_messages = R"({"type":"pong"})";
  MisbehavingEndpoint server(balancer);
  Request request = requestFor(server, testing::scaled(3500ms));  // longer in sanitized builds
  request.message = R"({"type":"ping"})";
  std::ostringstream progress;
  const std::atomic<bool> stop{false};
  const Observations seen = run(request, {&progress, false}, stop);
  const auto findings = judge(seen);
  INFO(renderText(seen, findings) << "\nprogress:\n" << progress.str());
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "pings_ignored");
  REQUIRE(findings.front().seconds);
  // The balancer's 1 s timeout: never less (less the time to see the 101), at most half a second late.
  CHECK(*findings.front().seconds >= 0.9);
  CHECK(*findings.front().seconds < 1.5);
  CHECK(exitStatus(findings) == 1);
  CHECK(seen.of(Probe::message).ends.empty());
  CHECK(seen.of(Probe::message).rtts.size() >= 5);
  CHECK(seen.of(Probe::message).messages_received >= 5);
  // Plain lines, one per event, no cursor tricks.
  CHECK(progress.str().find('\r') == std::string::npos);
  CHECK_THAT(progress.str(), Contains("pinged connection dropped: 1006 abnormal after "));
}

TEST_CASE("diagnose session: refused upgrades end the run early with what the status means",
          "[integration]") {
  EndpointBehaviour refusing;
  refusing.refuse_status = 403;
  MisbehavingEndpoint server(refusing);
  std::ostringstream progress;
  const std::atomic<bool> stop{false};
  const Observations seen = run(requestFor(server, 20s), {&progress, false}, stop);
  const auto findings = judge(seen);
  INFO(renderText(seen, findings));
  CHECK(seen.ran < 10s);
  CHECK(ids(findings) == "handshake_failed");
  CHECK(exitStatus(findings) == 1);
  CHECK_THAT(findings.front().summary, Contains("refused with HTTP 403"));
  CHECK_THAT(findings.front().detail, Contains("Origin"));
  CHECK_THAT(progress.str(), Contains("could not open: refused with HTTP 403"));
}

TEST_CASE("diagnose session: stopped early (Ctrl-C), it reports what it saw", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  std::atomic<bool> stop{false};
  std::thread interrupt([&] {
    server.waitUntil([&] { return server.pingsReceived() >= 2; }, 5000ms);
    stop = true;
  });
  const Observations seen = run(requestFor(server, 60s), {}, stop);
  interrupt.join();
  const auto findings = judge(seen);
  CHECK(seen.interrupted);
  CHECK(seen.ran < 10s);
  // (The idle connection may or may not have opened by then.)
  CHECK_THAT(ids(findings), Catch::Matchers::StartsWith("healthy"));
  CHECK_THAT(ids(findings), Catch::Matchers::EndsWith("interrupted"));
  CHECK(exitStatus(findings) == 0);
}

TEST_CASE("diagnose session: wss:// with a private CA times TLS, and without the CA names the certificate",
          "[integration]") {
  testing::TlsEndpoint tls;
  MisbehavingEndpoint& server = tls.server();
  const std::atomic<bool> stop{false};
  {
    Request request = requestFor(server, testing::scaled(1s));  // longer in sanitized builds
    request.tls.ca_file = tls.caFile();
    const Observations seen = run(request, {}, stop);
    const auto findings = judge(seen);
    INFO(renderText(seen, findings));
    CHECK(exitStatus(findings) == 0);
    CHECK(seen.secure);
    CHECK(seen.phases.of(HandshakePhase::tls).size() >= 2);
    CHECK(seen.of(Probe::ping).rtts.size() >= 2);
  }
  {
    const Observations seen = run(requestFor(server, 20s), {}, stop);
    const auto findings = judge(seen);
    INFO(renderText(seen, findings));
    CHECK(ids(findings) == "handshake_failed");
    CHECK_THAT(findings.front().summary, Contains("the TLS handshake failed"));
    CHECK_THAT(findings.front().detail, Contains("certificate verify failed"));
    // The real connections got through DNS and TCP, and stopped in TLS.
    CHECK_FALSE(seen.phases.of(HandshakePhase::tcp).empty());
    CHECK(seen.phases.of(HandshakePhase::tls).empty());
    CHECK(seen.of(Probe::ping).failures.front().stage == FailureStage::tls);
  }
}
