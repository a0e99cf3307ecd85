// Target files picked up without a signal: the built wsprobe watches the
// directory of its target files, and a Kubernetes-style ConfigMap update (the
// `..data` symlink swapped to a new timestamped directory) reloads it with
// SIGHUP's semantics: an unchanged target keeps its connection, a new one is
// added, a broken file changes nothing and sets
// wsprobe_config_last_reload_successful to 0.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support/agent_under_test.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/scrape.h"
#include "testbed/misbehaving_endpoint.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

namespace fs = std::filesystem;

// A directory laid out as the kubelet lays out a mounted ConfigMap: the keys
// are symlinks through `..data` to a timestamped directory, and an update
// writes a new directory and renames a new `..data` link over the old one.
class ConfigMapVolume {
 public:
  explicit ConfigMapVolume(fs::path root) : root_(std::move(root)) { fs::create_directories(root_); }

  void update(const std::map<std::string, std::string>& files) {
    const std::string generation = "..2026_01_01_00_00_00." + std::to_string(++generation_);
    fs::create_directory(root_ / generation);
    for (const auto& [name, text] : files) std::ofstream(root_ / generation / name) << text;
    fs::create_directory_symlink(generation, root_ / "..data_tmp");
    fs::rename(root_ / "..data_tmp",
               root_ / "..data");  // atomic, as the kubelet does
    for (const auto& [name, text] : files) {
      if (!fs::is_symlink(root_ / name)) fs::create_symlink(fs::path("..data") / name, root_ / name);
    }
    if (!previous_.empty()) fs::remove_all(root_ / previous_);
    previous_ = generation;
  }

 private:
  fs::path root_;
  int generation_ = 0;
  std::string previous_;
};

std::string targetsToml(const std::vector<std::pair<std::string, std::string>>& targets) {
  std::string text;
  for (const auto& [name, url] : targets) text += targetBlock(name, url);
  return text;
}

int portFromLog(const std::string& log) {
  std::smatch match;
  if (std::regex_search(log, match, std::regex(R"(listening on \S+ \(port (\d+)\))")))
    return std::stoi(match[1]);
  return 0;
}

}  // namespace

TEST_CASE("target files: a ConfigMap-style update reloads without a signal, as "
    "SIGHUP does",
    "[integration]") {
  MisbehavingEndpoint endpoint(EndpointBehaviour{});
  TempDir dir;
  const fs::path volume = fs::path(dir.path()) / "targets.d";
  ConfigMapVolume config_map(volume);
  config_map.update({{"a.toml", targetsToml({{"kept", endpoint.url("/kept")}})}});
  dir.write("wsprobe.toml", "[agent]\ntarget_files = [\"targets.d/*.toml\"]\n");

  ChildProcess wsprobe({WSPROBE_BINARY, "--config.file=" + dir.file("wsprobe.toml"),
                        "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
                       {}, dir.file("wsprobe.log"));
  int port = 0;
  REQUIRE(waitFor([&] { return (port = portFromLog(readFile(dir.file("wsprobe.log")))) != 0; }, 10s));
  const auto metric = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    return sampleValue(httpGet(port, "/metrics").body, name, labels);
  };
  REQUIRE(
      waitForMetric(port, "wsprobe_connections_open", {{"target", "kept"}, {"mode", "heartbeat"}}, 1, 10s));
  CHECK(metric("wsprobe_shard_info", {{"shard", "0"}, {"shards", "1"}}) == 1.0);

  SECTION("an added target comes, the unchanged one keeps its connection") {
    config_map.update({{"a.toml", targetsToml({{"kept", endpoint.url("/kept")}})},
                       {"b.toml", targetsToml({{"added", endpoint.url("/added")}})}});
    REQUIRE(waitForMetric(port, "wsprobe_connections_open", {{"target", "added"}, {"mode", "heartbeat"}}, 1,
                          10s));
    CHECK(metric("wsprobe_connection_attempts_total", {{"target", "kept"}}) == 1.0);
    CHECK(metric("wsprobe_config_last_reload_successful", {}) == 1.0);
    CHECK_THAT(readFile(dir.file("wsprobe.log")), Catch::Contains("target files changed: reloading"));
  }

  SECTION("a broken file changes nothing, is logged and reported") {
    config_map.update(
        {{"a.toml", targetsToml({{"kept", endpoint.url("/kept")}}) + "[[target]]\nname = 1\n"}});
    REQUIRE(waitFor([&] { return metric("wsprobe_config_last_reload_successful", {}) == 0.0; }, 10s));
    CHECK_THAT(readFile(dir.file("wsprobe.log")), Catch::Contains("a.toml:11:8: key 'target[1].name'"));
    CHECK(metric("wsprobe_connections_open", {{"target", "kept"}, {"mode", "heartbeat"}}) == 1.0);
    CHECK(metric("wsprobe_connection_attempts_total", {{"target", "kept"}}) == 1.0);

    // Fixed (the target removed): back to a successful reload without it.
    config_map.update({{"a.toml", ""}});
    REQUIRE(waitFor([&] { return metric("wsprobe_config_last_reload_successful", {}) == 1.0; }, 10s));
    REQUIRE(waitFor([&] { return !metric("wsprobe_target_up", {{"target", "kept"}}); }, 10s));
  }

  wsprobe.signal(SIGTERM);
  CHECK(wsprobe.waitExit(5s) == 0);
}
