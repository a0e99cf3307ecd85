// The daemon's lifecycle: reload, shutdown, --config.check and the exposition
// format, with the built binary where a process is the point.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"

extern char** environ;

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeFile(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = path.string() + ".tmp";
  std::ofstream(temporary) << text;
  std::filesystem::rename(temporary, path);
}

// A scratch directory, removed when the test ends.
struct ScratchDirectory {
  std::filesystem::path path;
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "wsprobe-test-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path); }
};

// The built wsprobe binary, its stdout and stderr going to files.
class WsprobeProcess {
 public:
  WsprobeProcess(const std::vector<std::string>& arguments, const std::filesystem::path& directory)
      : stdout_path_(directory / "stdout.log"), stderr_path_(directory / "stderr.log") {
    std::vector<std::string> argv_text = {WSPROBE_BINARY};
    argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& argument : argv_text) argv.push_back(argument.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int failed = posix_spawn(&pid_, WSPROBE_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (failed) throw std::runtime_error("cannot start " + std::string(WSPROBE_BINARY));
  }
  ~WsprobeProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int number) const { ::kill(pid_, number); }
  // The exit status once the process has ended within `timeout`.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout) {
    waitFor(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
          return status_.has_value();
        },
        timeout);
    if (!status_ || !WIFEXITED(*status_)) return std::nullopt;
    return WEXITSTATUS(*status_);
  }
  std::string out() const { return readFile(stdout_path_); }
  std::string err() const { return readFile(stderr_path_); }
  // The port from "listening on ... (port N)".
  int port() const {
    const std::string log = err();
    const auto at = log.find("(port ");
    return at == std::string::npos ? 0 : std::stoi(log.substr(at + 6));
  }

 private:
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

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
  ScratchDirectory scratch;
  MisbehavingEndpoint first(EndpointBehaviour{});
  MisbehavingEndpoint second(EndpointBehaviour{});
  const auto config = scratch.path / "wsprobe.toml";
  writeFile(config, fileConfig(targetBlock("first", first.url("/ws"), "connections = 2")));
  WsprobeProcess wsprobe({"--config.file=" + config.string(), "--log.level=debug"}, scratch.path);
  REQUIRE(first.waitUntil([&] { return first.openConnections() == 2; }, 10000ms));
  REQUIRE(waitFor([&] { return wsprobe.port() > 0; }, 5s));
  CHECK(httpGet(wsprobe.port(), "/-/ready").status == 200);
  CHECK(httpGet(wsprobe.port(), "/-/healthy").status == 200);

  writeFile(config, fileConfig(targetBlock("first", first.url("/ws"), "connections = 2") +
                               targetBlock("second", second.url("/ws"))));
  wsprobe.signal(SIGHUP);
  REQUIRE(second.waitUntil([&] { return second.openConnections() == 1; }, 10000ms));
  CHECK(first.upgradesCompleted() == 2);  // unchanged: not reconnected

  const auto stopping = std::chrono::steady_clock::now();
  wsprobe.signal(SIGTERM);
  const auto status = wsprobe.waitForExit(5s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopping).count();
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(took < 3.0);
  CHECK(first.waitUntil([&] { return first.closeCodesReceived().size() == 2; }, 2000ms));
  CHECK(first.closeCodesReceived() == std::vector<int>{1001, 1001});
  CHECK(second.closeCodesReceived() == std::vector<int>{1001});
  CHECK(first.abnormalClosures() == 0);
  CHECK(second.abnormalClosures() == 0);
  // Every end is one info line with target, mode, code, cause, reason and lifetime.
  const std::string log = wsprobe.err();
  CHECK_THAT(log, Catch::Contains("info connection ended target=first mode=heartbeat code=1001 cause=agent reason="));
  CHECK_THAT(log, Catch::Contains("lifetime="));
  CHECK_THAT(log, Catch::Contains("configuration reloaded: 2 targets"));
}

TEST_CASE("the config check (--config.check) prints the verdict and exits 0 or 1", "[integration]") {
  ScratchDirectory scratch;
  const auto good = scratch.path / "good.toml";
  const auto bad = scratch.path / "bad.toml";
  writeFile(good, fileConfig(targetBlock("a", "ws://127.0.0.1:1/ws")));
  writeFile(bad, fileConfig("[[target]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/ws\"\nping_interval = \"5\"\n"));
  {
    WsprobeProcess check({"--config.check", "--config.file=" + good.string()}, scratch.path);
    CHECK(check.waitForExit(5s) == 0);
    CHECK_THAT(check.out(), Catch::StartsWith("SUCCESS"));
  }
  {
    WsprobeProcess check({"--config.check", "--config.file=" + bad.string()}, scratch.path);
    CHECK(check.waitForExit(5s) == 1);
    CHECK_THAT(check.out(), Catch::Contains(bad.string() + ":6:17: key 'target[0].ping_interval'"));
  }
  {
    WsprobeProcess usage({"--no-such-flag"}, scratch.path);
    CHECK(usage.waitForExit(5s) == 2);
  }
  {
    WsprobeProcess version({"--version"}, scratch.path);
    CHECK(version.waitForExit(5s) == 0);
    CHECK_THAT(version.out(), Catch::Contains("libwebsockets 4.3"));
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

  ScratchDirectory scratch;
  const auto exposition = scratch.path / "metrics.txt";
  std::ofstream(exposition) << text;
  const std::string command = "promtool check metrics < " + exposition.string() + " > " +
                              (scratch.path / "promtool.txt").string() + " 2>&1";
  const int status = std::system(command.c_str());
  INFO(readFile(scratch.path / "promtool.txt"));
  CHECK(status == 0);
  CHECK(readFile(scratch.path / "promtool.txt").empty());
}

TEST_CASE("a close reason from the server cannot forge log lines", "[integration]") {
  ScratchDirectory scratch;
  EndpointBehaviour forging;
  forging.close_after = 100ms;
  forging.close_codes = {4000};
  forging.close_reason = "bye\" lifetime=0s\ninfo connection ended target=forged";
  MisbehavingEndpoint server(forging);
  const auto config = scratch.path / "wsprobe.toml";
  writeFile(config, fileConfig(targetBlock("honest", server.url("/ws"))));
  WsprobeProcess wsprobe({"--config.file=" + config.string()}, scratch.path);
  REQUIRE(waitFor([&] { return wsprobe.err().find("code=4000") != std::string::npos; }, 10s));
  wsprobe.signal(SIGTERM);
  CHECK(wsprobe.waitForExit(5s) == 0);
  const std::string log = wsprobe.err();
  CHECK_THAT(log, !Catch::Contains("\ninfo connection ended target=forged"));
  CHECK_THAT(log, Catch::Contains(R"(reason="bye\" lifetime=0s\ninfo connection ended target=forged" lifetime=)"));
}
