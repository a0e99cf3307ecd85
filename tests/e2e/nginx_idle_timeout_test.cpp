// A real proxy: Debian's nginx with proxy_read_timeout 3s in front of a test
// endpoint, probed by a real agent (asserting on /metrics) and diagnosed by
// the built wsprobe binary, side by side.
#include <catch2/catch.hpp>
#include <future>
#include <nlohmann/json.hpp>

#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/child_process.h"
#include "support/nginx_proxy.h"
#include "support/scrape.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

constexpr const char* kSecret = "diagnose-s3cret-value";

// nginx drops a quiet connection 3 s after its last read. What the probe and
// diagnose measure can only be later than that (the kernel, nginx's timer and
// our service thread each add their wake-up, up to hundreds of milliseconds on
// a loaded 2-core machine), never much earlier: a lower bound just under 3 s
// and a generous upper bound still tell a 3 s timeout from any other default
// (1 s, 5 s, 60 s) or from a ping interval (1 s).
constexpr double kEarliest = 2.9;
constexpr double kLatest = 4.0;

bool nearTimeout(double seconds) { return seconds >= kEarliest && seconds <= kLatest; }

// The number of seconds that follows `before` in `said` ("... about 3.1 s"), or -1.
double secondsAfter(const std::string& said, const std::string& before) {
  const auto at = said.find(before);
  if (at == std::string::npos) return -1;
  return std::strtod(said.c_str() + at + before.size(), nullptr);
}

// The report wraps its lines: compare with runs of whitespace as one space.
std::string flattened(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

std::optional<Duration> heartbeatAge(Agent& agent, const std::string& target) {
  for (const auto& status : agent.targetStatus()) {
    if (status.name != target) continue;
    for (const auto& connection : status.connections) {
      if (connection.mode == ConnectionMode::heartbeat && connection.state == "open") return connection.age;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("nginx proxy_read_timeout 3s: idle drops with 1006 after about 3 s, the estimate settles near 3, "
    "pings keep the heartbeat up, data frames get answers, diagnose names the timeout",
    "[e2e]") {
  EndpointBehaviour backend;
  backend.reply_to_messages = R"({"type":"pong"})";
  MisbehavingEndpoint upstream(backend);
  std::unique_ptr<NginxProxy> nginx;
  try {
    nginx = std::make_unique<NginxProxy>(NginxProxy::Options{upstream.port(), 3s, 3s});
  } catch (const std::exception& error) {
    FAIL(error.what());
  }
  const std::string url = nginx->url("/ws");
  INFO("nginx error log:\n" << nginx->errorLog());

  // wsprobe diagnose, the built binary, runs alongside: once as a person
  // would (text, a secret header), once for a script (JSON, with a
  // data-frame connection).
  auto text_run = std::async(std::launch::async, [&] {
    return runCommand({WSPROBE_BINARY, "diagnose", url, "--duration", "9s", "--ping-interval", "1s", "-H",
                       std::string("Authorization: Bearer ") + kSecret},
                      30s, true);
  });
  auto json_run = std::async(std::launch::async, [&] {
    return runCommand({WSPROBE_BINARY, "diagnose", url, "--duration", "9s", "--ping-interval", "1s",
                       "--message", R"({"type":"ping"})", "--expect", "pong", "--json"},
                      30s, false);
  });

  AgentUnderTest probe(
      targetBlock("nginx", url, "idle_probe = true\nping_interval = \"1s\"\npong_timeout = \"2s\"") +
      targetBlock("nginx-message", url,
                  "heartbeat = \"message\"\nheartbeat_message = '{\"type\":\"ping\"}'\n"
                  "heartbeat_expect = 'pong'\nping_interval = \"1s\"\npong_timeout = \"2s\""));
  const Labels idle = {{"target", "nginx"}, {"mode", "idle"}};

  // The first idle end: no close frame, about 3 s after the upgrade.
  REQUIRE(probe.waitForMetric("wsprobe_connection_lifetime_seconds_count", idle, 1, 10s));
  std::string text = probe.scrape();
  {
    INFO(text);
    CHECK(sampleValue(text, "wsprobe_disconnects_total",
                      {{"target", "nginx"}, {"mode", "idle"}, {"code", "1006"}, {"cause", "abnormal"}}) == 1);
    const double first_lifetime = *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", idle);
    CHECK(nearTimeout(first_lifetime));
  }

  // Two more agreeing lifetimes: the estimate.
  REQUIRE(probe.waitForMetric("wsprobe_idle_timeout_seconds", {{"target", "nginx"}}, 1.0, 15s));
  text = probe.scrape();
  {
    INFO(text);
    CHECK(nearTimeout(*sampleValue(text, "wsprobe_idle_timeout_seconds", {{"target", "nginx"}})));
    const double count = *sampleValue(text, "wsprobe_connection_lifetime_seconds_count", idle);
    const double sum = *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", idle);
    CHECK(count >= 3);
    CHECK(nearTimeout(sum / count));
    CHECK(*sampleValue(text, "wsprobe_disconnects_total",
                       {{"target", "nginx"}, {"mode", "idle"}, {"code", "1006"}}) == count);
  }

  // Pings every second: the heartbeat connection outlives the timeout four times over.
  REQUIRE(
      waitFor([&] { return heartbeatAge(probe.agent(), "nginx").value_or(Duration::zero()) >= 12s; }, 15s));
  text = probe.scrape();
  {
    INFO(text);
    CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "nginx"}, {"mode", "heartbeat"}}));
    CHECK(sampleValue(text, "wsprobe_reconnects_total", {{"target", "nginx"}, {"mode", "heartbeat"}}) == 0);
    CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "nginx"}}) == 1);
    CHECK(*sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "nginx"}}) >= 12);
    // Data frames through nginx: answered, timed, counted; never dropped.
    CHECK(*sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "nginx-message"}}) >= 10);
    CHECK(*sampleValue(text, "wsprobe_messages_sent_total", {{"target", "nginx-message"}}) >= 10);
    CHECK(*sampleValue(text, "wsprobe_messages_received_total", {{"target", "nginx-message"}}) >= 10);
    CHECK_FALSE(sampleValue(text, "wsprobe_disconnects_total", {{"target", "nginx-message"}}));
  }

  const CommandResult person = text_run.get();
  {
    INFO(person.output);
    CHECK(person.exit_code == 1);
    const std::string said = flattened(person.output);
    CHECK_THAT(said, Contains("PROBLEM Idle timeout of about "));
    const double timeout = secondsAfter(said, "PROBLEM Idle timeout of about ");
    CHECK(nearTimeout(timeout));
    CHECK_THAT(said, Contains(" s on the path"));
    CHECK(nearTimeout(secondsAfter(said, "1006 abnormal after ")));
    CHECK_THAT(said, Contains("while the pinged connection stayed up"));
    // The advice is half the timeout it named (both printed to 0.1 s).
    CHECK(secondsAfter(said, "at least every ") == Approx(timeout / 2).margin(0.06));
    CHECK_THAT(said, Contains("headers sent: Authorization (values not shown)"));
    CHECK(person.output.find(kSecret) == std::string::npos);
  }
  const CommandResult script = json_run.get();
  INFO(script.output);
  CHECK(script.exit_code == 1);
  const auto report = nlohmann::json::parse(script.output);
  CHECK(report["exit_status"] == 1);
  CHECK(report["findings"][0]["id"] == "idle_timeout");
  REQUIRE(report["idle_timeout_seconds"].is_number());
  CHECK(nearTimeout(report["idle_timeout_seconds"].get<double>()));
  for (const auto& connection : report["connections"]) {
    INFO("probe " << connection["probe"]);
    if (connection["probe"] == "idle") {
      CHECK(connection["ends"].size() >= 2);
    } else {
      // The pinged and the data-frame connections lived through the run.
      CHECK(connection["ends"].empty());
      CHECK(connection["rtt_seconds"]["count"].get<int>() >= 5);
    }
  }
}
