// The daemon's lifecycle: reload, shutdown, --config.check and the exposition
// format, with the built binary where a process is the point.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "support/time_scale.h"
#include "support/wsprobe_binary.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

void writeFile(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = path.string() + ".tmp";
  std::ofstream(temporary) << text;
  std::filesystem::rename(temporary, path);
}

std::string fileConfig(const std::string& targets) {
  return "[web]\nlisten_address = \"127.0.0.1:0\"\n" + targets;
}

}  // namespace

TEST_CASE("reload: unchanged targets keep their connection and counts, changed ones reconnect, "
          "removed ones close and lose their series",
          "[integration]") {
  MisbehavingEndpoint kept_server(EndpointBehaviour{});
  MisbehavingEndpoint changed_server(EndpointBehaviour{});
  MisbehavingEndpoint removed_server(EndpointBehaviour{});
  const std::string kept = targetBlock("kept", kept_server.url("/ws"));
  AgentUnderTest probe(kept + targetBlock("changed", changed_server.url("/ws")) +
                       targetBlock("removed", removed_server.url("/ws")));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "kept"}}, 1, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "changed"}}, 1, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_target_up", {{"target", "removed"}}, 1, 10s));
  const auto kept_ids = kept_server.openConnectionIds();
  const auto changed_ids = changed_server.openConnectionIds();
  const double kept_pings = *probe.metric("wsprobe_ping_rtt_seconds_count", {{"target", "kept"}});

  probe.setConfig(kept + targetBlock("changed", changed_server.url("/ws"), "ping_interval = \"300ms\"\nconnections = 2"));
  const auto reload = httpRequest(probe.port(), "POST", "/-/reload");
  CHECK(reload.status == 200);

  // The unchanged target: the same server-side connection, the counts go on.
  CHECK(kept_server.openConnectionIds() == kept_ids);
  CHECK(kept_server.upgradesCompleted() == 1);
  CHECK(*probe.metric("wsprobe_ping_rtt_seconds_count", {{"target", "kept"}}) >= kept_pings);
  CHECK(probe.metric("wsprobe_connection_attempts_total", {{"target", "kept"}}) == 1);
  // The changed target: closed by wsprobe with 1000, then a new connection.
  CHECK(changed_server.waitUntil([&] { return changed_server.upgradesCompleted() == 3; }, 5000ms));
  CHECK(probe.metric("wsprobe_connections_desired", {{"target", "changed"}, {"mode", "heartbeat"}}) == 2);
  CHECK(changed_server.openConnectionIds() != changed_ids);
  CHECK(probe.waitForMetric("wsprobe_disconnects_total", {{"target", "changed"}, {"code", "1000"}, {"cause", "agent"}},
                            1, 5s));
  // The removed target: closed with a close frame, its series gone.
  CHECK(removed_server.waitUntil([&] { return removed_server.openConnections() == 0; }, 5000ms));
  CHECK(removed_server.closeCodesReceived() == std::vector<int>{1000});
  CHECK(removed_server.abnormalClosures() == 0);
  CHECK_THAT(probe.scrape(), !Catch::Contains("target=\"removed\""));
  CHECK(probe.metric("wsprobe_config_last_reload_successful") == 1);

  // A broken file changes nothing and is reported.
  probe.setConfig(kept + "[[target]]\nname = \"x\"\n");
  CHECK(httpRequest(probe.port(), "POST", "/-/reload").status == 500);
  CHECK(probe.metric("wsprobe_config_last_reload_successful") == 0);
  CHECK(kept_server.openConnectionIds() == kept_ids);
  // Up once its first heartbeat (on the connection's own phase) is answered.
  CHECK(probe.waitForMetric("wsprobe_target_up", {{"target", "changed"}}, 1, 5s));
  CHECK(httpRequest(probe.port(), "GET", "/-/reload").status == 405);
}

TEST_CASE("the binary: SIGHUP reloads, SIGTERM closes every connection with 1001 and exits 0 in time",
          "[integration]") {
  TempDir scratch;
  MisbehavingEndpoint first(EndpointBehaviour{});
  MisbehavingEndpoint second(EndpointBehaviour{});
  const auto config = std::filesystem::path(scratch.path()) / "wsprobe.toml";
  writeFile(config, fileConfig(targetBlock("first", first.url("/ws"), "connections = 2")));
  WsprobeBinary wsprobe({"--config.file=" + config.string(), "--log.level=debug"},
                        scratch.file("wsprobe.log"));
  REQUIRE(first.waitUntil([&] { return first.openConnections() == 2; }, 10000ms));
  REQUIRE(waitFor([&] { return wsprobe.port() > 0; }, 5s));
  CHECK(httpGet(wsprobe.port(), "/-/ready").status == 200);
  CHECK(httpGet(wsprobe.port(), "/-/healthy").status == 200);

  writeFile(config, fileConfig(targetBlock("first", first.url("/ws"), "connections = 2") +
                               targetBlock("second", second.url("/ws"))));
  wsprobe.process().signal(SIGHUP);
  REQUIRE(second.waitUntil([&] { return second.openConnections() == 1; }, 10000ms));
  CHECK(first.upgradesCompleted() == 2);  // unchanged: not reconnected

  const auto stopping = std::chrono::steady_clock::now();
  wsprobe.process().signal(SIGTERM);
  const auto status = wsprobe.process().waitExit(5s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopping).count();
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(took < 3.0 * timeScale());  // sanitized builds run slower (tests/support/time_scale.h)
  CHECK(first.waitUntil([&] { return first.closeCodesReceived().size() == 2; }, 2000ms));
  CHECK(first.closeCodesReceived() == std::vector<int>{1001, 1001});
  CHECK(second.closeCodesReceived() == std::vector<int>{1001});
  CHECK(first.abnormalClosures() == 0);
  CHECK(second.abnormalClosures() == 0);
  // Every end is one info line with target, mode, code, cause, reason and lifetime.
  const std::string log = wsprobe.output();
  CHECK_THAT(log, Catch::Contains("info connection ended target=first mode=heartbeat code=1001 cause=agent reason="));
  CHECK_THAT(log, Catch::Contains("lifetime="));
  CHECK_THAT(log, Catch::Contains("configuration reloaded: 2 targets"));
}

TEST_CASE("the config check (--config.check) prints the verdict and exits 0 or 1", "[integration]") {
  TempDir scratch;
  const auto good = std::filesystem::path(scratch.path()) / "good.toml";
  const auto bad = std::filesystem::path(scratch.path()) / "bad.toml";
  writeFile(good, fileConfig(targetBlock("a", "ws://127.0.0.1:1/ws")));
  writeFile(bad, fileConfig("[[target]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/ws\"\nping_interval = \"5\"\n"));
  {
    WsprobeBinary check({"--config.check", "--config.file=" + good.string()}, scratch.file("check-good.log"));
    CHECK(check.process().waitExit(5s) == 0);
    CHECK_THAT(check.output(), Catch::StartsWith("SUCCESS"));
  }
  {
    WsprobeBinary check({"--config.check", "--config.file=" + bad.string()}, scratch.file("check-bad.log"));
    CHECK(check.process().waitExit(5s) == 1);
    CHECK_THAT(check.output(), Catch::Contains(bad.string() + ":6:17: key 'target[0].ping_interval'"));
  }
  {
    WsprobeBinary usage({"--no-such-flag"}, scratch.file("usage.log"));
    CHECK(usage.process().waitExit(5s) == 2);
  }
  {
    WsprobeBinary version({"--version"}, scratch.file("version.log"));
    CHECK(version.process().waitExit(5s) == 0);
    CHECK_THAT(version.output(), Catch::Contains("libwebsockets 4.3"));
  }
}

TEST_CASE("/metrics passes promtool check metrics and carries build and process metrics", "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  EndpointBehaviour drops;
  drops.drop_after = 100ms;
  MisbehavingEndpoint dropping(drops);
  AgentUnderTest probe("[agent]\nlocation = \"lab\"\n" +
                       targetBlock("a", server.url("/ws"), "idle_probe = true\nlabels = { team = \"core\" }") +
                       targetBlock("b", dropping.url("/ws")) +
                       targetBlock("c", "ws://127.0.0.1:" + std::to_string(closedPort()) + "/"));
  REQUIRE(probe.waitForMetric("wsprobe_disconnects_total", {{"target", "b"}}, 1, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "c"}}, 1, 10s));
  REQUIRE(probe.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "a"}}, 1, 10s));
  const std::string text = probe.scrape();
  CHECK(sampleValue(text, "wsprobe_target_up", {{"target", "a"}, {"location", "lab"}, {"team", "core"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_connections_open", {{"target", "a"}, {"mode", "idle"}}) == 1);
  CHECK(sampleValue(text, "wsprobe_build_info") == 1);
  CHECK_THAT(text, Catch::Contains("libwebsockets=\"4.3"));
  CHECK(sampleValue(text, "wsprobe_config_last_reload_successful") == 1);
  CHECK(*sampleValue(text, "wsprobe_config_last_reload_success_timestamp_seconds") > 1.7e9);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    INFO(name);
    CHECK(sampleValue(text, name) > 0);
  }

  TempDir scratch;
  const auto exposition = std::filesystem::path(scratch.path()) / "metrics.txt";
  std::ofstream(exposition) << text;
  const std::string command = "promtool check metrics < " + exposition.string() + " > " +
                              (std::filesystem::path(scratch.path()) / "promtool.txt").string() + " 2>&1";
  const int status = std::system(command.c_str());
  INFO(readFile(std::filesystem::path(scratch.path()) / "promtool.txt"));
  CHECK(status == 0);
  CHECK(readFile(std::filesystem::path(scratch.path()) / "promtool.txt").empty());
}

TEST_CASE("a close reason from the server cannot forge log lines", "[integration]") {
  TempDir scratch;
  EndpointBehaviour forging;
  forging.close_after = 100ms;
  forging.close_codes = {4000};
  forging.close_reason = "bye\" lifetime=0s\ninfo connection ended target=forged";
  MisbehavingEndpoint server(forging);
  const auto config = std::filesystem::path(scratch.path()) / "wsprobe.toml";
  writeFile(config, fileConfig(targetBlock("honest", server.url("/ws"))));
  WsprobeBinary wsprobe({"--config.file=" + config.string()}, scratch.file("wsprobe.log"));
  REQUIRE(waitFor([&] { return wsprobe.output().find("code=4000") != std::string::npos; }, 10s));
  wsprobe.process().signal(SIGTERM);
  CHECK(wsprobe.process().waitExit(5s) == 0);
  const std::string log = wsprobe.output();
  CHECK_THAT(log, !Catch::Contains("\ninfo connection ended target=forged"));
  CHECK_THAT(log, Catch::Contains(R"(reason="bye\" lifetime=0s\ninfo connection ended target=forged" lifetime=)"));
}
