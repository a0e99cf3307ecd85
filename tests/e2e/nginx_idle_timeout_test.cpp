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

TEST_CASE("nginx proxy_read_timeout 3s: idle drops with 1006 at 3.0 s, the estimate settles at 3, "
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

  // The first idle end: no close frame, 3.0 s after the upgrade.
  REQUIRE(probe.waitForMetric("wsprobe_connection_lifetime_seconds_count", idle, 1, 10s));
  std::string text = probe.scrape();
  {
    INFO(text);
    CHECK(sampleValue(text, "wsprobe_disconnects_total",
                      {{"target", "nginx"}, {"mode", "idle"}, {"code", "1006"}, {"cause", "abnormal"}}) == 1);
    const double first_lifetime = *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", idle);
    CHECK(first_lifetime == Approx(3.0).margin(0.3));
  }

  // Two more agreeing lifetimes: the estimate.
  REQUIRE(probe.waitForMetric("wsprobe_idle_timeout_seconds", {{"target", "nginx"}}, 1.0, 15s));
  text = probe.scrape();
  {
    INFO(text);
    CHECK(*sampleValue(text, "wsprobe_idle_timeout_seconds", {{"target", "nginx"}}) ==
          Approx(3.0).margin(0.15));
    const double count = *sampleValue(text, "wsprobe_connection_lifetime_seconds_count", idle);
    const double sum = *sampleValue(text, "wsprobe_connection_lifetime_seconds_sum", idle);
    CHECK(count >= 3);
    CHECK(sum / count == Approx(3.0).margin(0.3));
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
    CHECK_THAT(said, Contains("PROBLEM Idle timeout of about 3.0 s on the path"));
    CHECK_THAT(said, Contains("1006 abnormal after 3.0"));
    CHECK_THAT(said, Contains("while the pinged connection stayed up"));
    CHECK_THAT(said, Contains("at least every 1.5 s"));
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
  CHECK(report["idle_timeout_seconds"].get<double>() == Approx(3.0).margin(0.15));
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
