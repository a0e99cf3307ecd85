// The verdict table of `wsprobe diagnose`: observations built by hand, the
// findings and exit status they must give.
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnose/verdict.h"

using namespace wsprobe;
using namespace wsprobe::diagnose;
using namespace std::chrono_literals;

namespace {

Duration secs(double value) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

// A run of `run_for` seconds in which every connection opened at once and
// stayed open, answering every heartbeat; rows then add what went wrong.
Observations quietRun(double run_for = 120, bool with_message = false) {
  Observations seen;
  seen.url = "wss://chat.example.com/ws";
  seen.secure = true;
  seen.planned = seen.ran = secs(run_for);
  seen.ping_interval = 5s;
  seen.pong_timeout = 10s;
  seen.expect = "pong";
  for (const Probe probe : kProbes) {
    if (probe == Probe::message && !with_message) continue;
    ProbeRecord& record = seen.of(probe);
    record.ran = true;
    record.attempts = 1;
    record.handshakes = {12ms};
    // Started a second apart, as the session does.
    record.open_at_finish = secs(run_for - static_cast<double>(probe));
    if (probe != Probe::idle) record.rtts = {1ms, 2ms, 3ms};
  }
  if (with_message) {
    seen.message = R"({"type":"ping"})";
    seen.of(Probe::message).messages_sent = 3;
    seen.of(Probe::message).messages_received = 3;
  }
  return seen;
}

// The connection of `probe` ended `lifetime` after it opened, `at` into the
// run, reconnected at once, and the new one is open at the finish.
void drop(Observations& seen, Probe probe, double lifetime, double at, int code = close_code::abnormal,
          CloseCause cause = CloseCause::abnormal, std::string reason = "") {
  ProbeRecord& record = seen.of(probe);
  record.ends.push_back({code, cause, std::move(reason), secs(lifetime), secs(at)});
  record.attempts++;
  record.handshakes.push_back(12ms);
  record.open_at_finish = secs(seconds(seen.ran) - at);
}

// Drops every `period` seconds from `first`, as an idle timeout makes them.
void dropEvery(Observations& seen, Probe probe, double period, double first, int code = close_code::abnormal,
               CloseCause cause = CloseCause::abnormal) {
  for (double at = first; at < seconds(seen.ran); at += period + 0.4)
    drop(seen, probe, period, at, code, cause);
}

void refuse(Observations& seen, Probe probe, int status, int times) {
  ProbeRecord& record = seen.of(probe);
  for (int i = 0; i < times; ++i) {
    record.failures.push_back({FailureStage::http, status, "upgrade refused", secs(i), ""});
    record.attempts++;
  }
}

void neverOpen(Observations& seen) {
  for (const Probe probe : kProbes) {
    ProbeRecord& record = seen.of(probe);
    record.attempts = 0;
    record.handshakes.clear();
    record.open_at_finish.reset();
    record.rtts.clear();
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
  std::string expected_ids;  // every finding, in order
  int exit_status;
  std::vector<std::string> text;  // appear in the first finding's summary or detail
  std::optional<double> seconds;  // of the first finding
};

}  // namespace

TEST_CASE("diagnose verdict: the table of patterns", "[unit]") {
  const std::vector<Row> rows = {
      {"nothing wrong, the idle connection outlived the common timeouts",
       [] { return quietRun(120); },
       "healthy no_idle_timeout_below",
       0,
       {"No problem found in 120 s", "2 connections opened", "3 heartbeats answered"},
       std::nullopt},
      {"idle dropped with 1006 at 60 s while the pinged one lived: nginx or AWS ALB",
       [] {
         auto seen = quietRun(150);
         dropEvery(seen, Probe::idle, 60.0, 61.0);
         return seen;
       },
       "idle_timeout",
       1,
       {"Idle timeout of about 60 s", "1006", "pinged connection stayed up (150.0 s)", "nginx",
        "proxy_read_timeout", "AWS Application Load Balancers", "at least every 30 s"},
       60.0},
      {"idle timeout of about 30 s: Google Cloud",
       [] {
         auto seen = quietRun(120);
         dropEvery(seen, Probe::idle, 30.2, 31.2);
         return seen;
       },
       "idle_timeout",
       1,
       {"about 30 s", "Google Cloud", "at least every 15 s"},
       30.2},
      {"idle timeout of about 100 s: Cloudflare",
       [] {
         auto seen = quietRun(240);
         dropEvery(seen, Probe::idle, 100.0, 101.0);
         return seen;
       },
       "idle_timeout",
       1,
       {"about 100 s", "Cloudflare", "at least every 50 s"},
       100.0},
      {"idle timeout of 3 s (the test proxy): no usual suspect, heartbeat under 1.5 s",
       [] {
         auto seen = quietRun(12);
         dropEvery(seen, Probe::idle, 3.0, 4.0);
         return seen;
       },
       "idle_timeout",
       1,
       {"about 3.0 s", "after 3.00 s, 3.00 s", "at least every 1.5 s"},
       3.0},
      {"the server closes idle connections itself, with a close frame",
       [] {
         auto seen = quietRun(60);
         dropEvery(seen, Probe::idle, 10.0, 11.0, 1000, CloseCause::server_close);
         return seen;
       },
       "idle_timeout",
       1,
       {"about 10 s", "The server itself closes", "1000"},
       10.0},
      {"idle and pinged dropped after the same time, the data-frame one lived: pings ignored",
       [] {
         auto seen = quietRun(65, true);
         dropEvery(seen, Probe::ping, 30.0, 30.0);
         dropEvery(seen, Probe::idle, 30.0, 31.0);
         return seen;
       },
       "pings_ignored",
       1,
       {"ignores ping frames", "about 30 s", "data-frame heartbeats", "at least every 15 s"},
       30.0},
      {"idle and pinged dropped after the same time, no data-frame connection to compare",
       [] {
         auto seen = quietRun(65);
         dropEvery(seen, Probe::ping, 30.0, 30.0);
         dropEvery(seen, Probe::idle, 30.0, 31.0);
         return seen;
       },
       "pings_not_enough",
       1,
       {"Pings do not keep this path open", "--message"},
       30.0},
      {"every connection ends after the same time, data frames or not: a lifetime limit",
       [] {
         auto seen = quietRun(65, true);
         dropEvery(seen, Probe::ping, 30.0, 30.0);
         dropEvery(seen, Probe::idle, 30.0, 31.0);
         dropEvery(seen, Probe::message, 30.0, 32.0);
         return seen;
       },
       "lifetime_limit",
       1,
       {"Every connection ends after about 30 s", "limits how long"},
       30.0},
      {"1006 at random lifetimes on the pinged connection: network or crash",
       [] {
         auto seen = quietRun(120);
         drop(seen, Probe::ping, 12.3, 12.3);
         drop(seen, Probe::ping, 47.0, 59.7);
         return seen;
       },
       "drops_1006 no_idle_timeout_below",
       1,
       {"2 connections dropped with 1006", "12.30 s, 47.00 s", "network", "crashed"},
       std::nullopt},
      {"one idle drop, then the idle connection lived longer: a drop, not a timeout",
       [] {
         auto seen = quietRun(120);
         drop(seen, Probe::idle, 47.0, 48.0);
         return seen;
       },
       "drops_1006",
       1,
       {"1 connection dropped with 1006 (no close frame) after 47.00 s"},
       std::nullopt},
      {"one idle drop near the end: an idle timeout, seen once",
       [] {
         auto seen = quietRun(90);
         drop(seen, Probe::idle, 60.0, 61.0);
         return seen;
       },
       "idle_timeout",
       1,
       {"about 60 s", "Seen once"},
       60.0},
      {"every connection dropped at the same moment: one event, not a timeout",
       [] {
         auto seen = quietRun(60, true);
         drop(seen, Probe::ping, 20.0, 20.0);
         drop(seen, Probe::idle, 19.0, 20.05);
         drop(seen, Probe::message, 18.0, 20.1);
         return seen;
       },
       "drops_1006",
       1,
       {"3 connections dropped with 1006", "same moment", "crash"},
       std::nullopt},
      {"1012 from the server: a restart or deploy",
       [] {
         auto seen = quietRun(60);
         drop(seen, Probe::ping, 25.0, 25.0, 1012, CloseCause::server_close, "restarting");
         drop(seen, Probe::idle, 24.0, 25.0, 1012, CloseCause::server_close, "restarting");
         return seen;
       },
       "server_restart",
       1,
       {"closed 2 connections with 1012 \"restarting\"", "restart", "deploy"},
       std::nullopt},
      {"1001 from the server: going away",
       [] {
         auto seen = quietRun(60);
         drop(seen, Probe::ping, 25.0, 25.0, 1001, CloseCause::server_close);
         return seen;
       },
       "server_restart no_idle_timeout_below",
       1,
       {"1001 (going away)"},
       std::nullopt},
      {"1013 from the server: overloaded",
       [] {
         auto seen = quietRun(60);
         drop(seen, Probe::ping, 25.0, 25.0, 1013, CloseCause::server_close);
         return seen;
       },
       "server_overloaded no_idle_timeout_below",
       1,
       {"1013", "overloaded"},
       std::nullopt},
      {"1011 from the server: an internal error",
       [] {
         auto seen = quietRun(60);
         drop(seen, Probe::ping, 25.0, 25.0, 1011, CloseCause::server_close);
         return seen;
       },
       "server_error no_idle_timeout_below",
       1,
       {"1011", "exception"},
       std::nullopt},
      {"heartbeats unanswered: half-open",
       [] {
         auto seen = quietRun(60);
         drop(seen, Probe::ping, 14.0, 14.0, close_code::abnormal, CloseCause::pong_timeout);
         return seen;
       },
       "half_open no_idle_timeout_below",
       1,
       {"stopped answering heartbeats for 10 s", "Half-open"},
       std::nullopt},
      {"the data-frame connection never got a matching reply",
       [] {
         auto seen = quietRun(30, true);
         seen.of(Probe::message).rtts.clear();
         seen.of(Probe::message).messages_received = 0;
         drop(seen, Probe::message, 10.0, 12.0, close_code::abnormal, CloseCause::pong_timeout);
         return seen;
       },
       "message_unanswered no_idle_timeout_below",
       1,
       {"No reply matched --expect 'pong'", "never answered the message"},
       std::nullopt},
      {"replies came, none matched --expect",
       [] {
         auto seen = quietRun(30, true);
         seen.of(Probe::message).rtts.clear();
         return seen;
       },
       "message_unanswered no_idle_timeout_below",
       1,
       {"3 data frames received", "check --expect"},
       std::nullopt},
      {"some upgrades refused with 503, the others opened",
       [] {
         auto seen = quietRun(60);
         refuse(seen, Probe::ping, 503, 2);
         return seen;
       },
       "handshake_flaky no_idle_timeout_below",
       1,
       {"2 of 4 connection attempts failed (HTTP 503 x2)", "no healthy backend"},
       std::nullopt},
      {"interrupted: a note, the rest as seen",
       [] {
         auto seen = quietRun(20);
         seen.planned = 120s;
         seen.interrupted = true;
         return seen;
       },
       "healthy no_idle_timeout_below interrupted",
       0,
       {"No problem found in 20 s"},
       std::nullopt},
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
      if (row.seconds) {
        REQUIRE(findings.front().seconds);
        CHECK(*findings.front().seconds == Approx(*row.seconds).epsilon(0.01));
      }
    }
  }
}

TEST_CASE("diagnose verdict: a refused upgrade says what its status means", "[unit]") {
  const std::vector<std::pair<int, std::string>> statuses = {
      {401, "Authorization"}, {403, "Origin"},
      {404, "path"},          {426, "Upgrade and Connection headers"},
      {502, "backend"},       {503, "no healthy backend"},
      {400, "malformed"},     {200, "plain HTTP"}};
  for (const auto& [status, phrase] : statuses) {
    SECTION("HTTP " + std::to_string(status)) {
      auto seen = quietRun(10);
      neverOpen(seen);
      refuse(seen, Probe::ping, status, 3);
      refuse(seen, Probe::idle, status, 3);
      const auto findings = judge(seen);
      CHECK(ids(findings) == "handshake_failed");
      CHECK(exitStatus(findings) == 1);
      CHECK_THAT(
          findings.front().summary,
          Catch::Matchers::Contains("refused with HTTP " + std::to_string(status) + " (6 failed attempts"));
      CHECK_THAT(findings.front().detail, Catch::Matchers::Contains(phrase));
    }
  }
}

TEST_CASE("diagnose verdict: failures before any upgrade name their stage", "[unit]") {
  auto seen = quietRun(10);
  neverOpen(seen);
  seen.of(Probe::ping)
      .failures.push_back({FailureStage::tls, 0, "certificate verify failed: self-signed certificate", 0s, ""});
  seen.of(Probe::idle)
      .failures.push_back({FailureStage::tls, 0, "certificate verify failed: self-signed certificate", 1s, ""});
  const auto findings = judge(seen);
  REQUIRE(ids(findings) == "handshake_failed");
  CHECK_THAT(findings.front().summary, Catch::Matchers::Contains("the TLS handshake failed"));
  CHECK_THAT(findings.front().detail, Catch::Matchers::Contains("--ca-file"));
  CHECK_THAT(findings.front().detail, Catch::Matchers::Contains("self-signed certificate"));
}

TEST_CASE("diagnose verdict: a run too short to see anything says so, and is no problem", "[unit]") {
  auto seen = quietRun(0.5);
  neverOpen(seen);
  const auto findings = judge(seen);
  CHECK(ids(findings) == "inconclusive");
  CHECK(exitStatus(findings) == 0);
}

TEST_CASE("diagnose verdict: an idle timeout the pinged connection could not be compared with", "[unit]") {
  // The pinged connection kept failing its handshake: the idle one still
  // shows a timeout, and the verdict says what it could not check.
  auto seen = quietRun(20);
  seen.of(Probe::ping).open_at_finish = 2s;
  dropEvery(seen, Probe::idle, 3.0, 4.0);
  const auto findings = judge(seen);
  REQUIRE(ids(findings) == "idle_timeout");
  CHECK_THAT(findings.front().summary, Catch::Matchers::Contains("did not stay up long enough"));
}

TEST_CASE("diagnose verdict: suspects only near 30, 60 and 100 s", "[unit]") {
  CHECK_THAT(suspectsFor(29), Catch::Matchers::Contains("Google Cloud"));
  CHECK_THAT(suspectsFor(60), Catch::Matchers::Contains("nginx"));
  CHECK_THAT(suspectsFor(63), Catch::Matchers::Contains("AWS"));
  CHECK_THAT(suspectsFor(100), Catch::Matchers::Contains("Cloudflare"));
  CHECK(suspectsFor(45).empty());
  CHECK(suspectsFor(3).empty());
  CHECK(suspectsFor(120).empty());
  CHECK(formatSeconds(3.04) == "3.0 s");
  CHECK(formatSeconds(59.6) == "60 s");
}
