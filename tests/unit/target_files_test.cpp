// Targets from files: [agent] target_files with TOML files and Prometheus
// file_sd (JSON, YAML), how names are derived, where errors point, and which
// targets a shard keeps.
#include "agent/target_files.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace wsprobe;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

EnvLookup noEnvironment() {
  return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

struct ScratchDirectory {
  fs::path path;
  ScratchDirectory() {
    std::string pattern = (fs::temp_directory_path() / "wsprobe-target-files-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~ScratchDirectory() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    return path / name;
  }
};

std::set<std::string> names(const Config& config) {
  std::set<std::string> out;
  for (const auto& spec : config.targets) out.insert(spec.name);
  return out;
}

ConfigResult loadFrom(const ScratchDirectory& dir, std::optional<ShardSetting> shard = std::nullopt) {
  return FileConfigSource((dir.path / "wsprobe.toml").string(), shard, noEnvironment()).load();
}

const char* const kMain = R"([agent]
target_files = ["targets.d/*.toml", "sd/*.json", "sd/*.yml"]

[defaults]
ping_interval = "5s"
labels = { team = "core" }

[[target]]
name = "main"
url = "ws://127.0.0.1:1/main"
)";

}  // namespace

TEST_CASE("target files: TOML and file_sd files add their targets, with the "
    "main file's defaults",
    "[unit]") {
  ScratchDirectory dir;
  dir.write("wsprobe.toml", kMain);
  dir.write("targets.d/a.toml",
            "[[target]]\nname = \"chat\"\nurl = "
            "\"wss://chat.example.com/ws\"\nconnections = 2\n");
  dir.write("targets.d/ignored.txt", "not matched by *.toml");
  dir.write("sd/feeds.json", R"([
  {"targets": ["ws://10.0.0.1:8080/feed?x=1", "wss://prices.example.com/"], "labels": {"env": "prod", "__meta_x": "y"}},
  {"targets": ["wss://named.example.com/ws"], "labels": {"__wsprobe_target": "named"}}
])");
  dir.write("sd/more.yml", "- targets: ['ws://[::1]:9000/a/b']\n  labels:\n    team: edge\n");

  const ConfigResult loaded = loadFrom(dir);
  INFO(loaded.error);
  REQUIRE(loaded.config);
  CHECK(names(*loaded.config) == std::set<std::string>{"main", "chat", "10.0.0.1:8080_feed",
                                                       "prices.example.com", "named", "_::1_:9000_a_b"});
  std::map<std::string, TargetSpec> by_name;
  for (const auto& spec : loaded.config->targets) by_name[spec.name] = spec;
  CHECK(by_name["chat"].connections == 2);
  CHECK(by_name["chat"].ping_interval == 5s);  // [defaults] of the main file
  CHECK(by_name["named"].ping_interval == 5s);
  CHECK(by_name["10.0.0.1:8080_feed"].labels ==
        std::map<std::string, std::string>{{"env", "prod"}, {"team", "core"}});
  CHECK(by_name["_::1_:9000_a_b"].labels.at("team") == "edge");  // the file's labels win over [defaults]
  CHECK(by_name["named"].url.host == "named.example.com");
  CHECK(loaded.config->shard == Shard{0, 1});
}

TEST_CASE("target files: names derived from URLs", "[unit]") {
  std::string error;
  auto name = [&](const std::string& url) { return targetNameFromUrl(*parseWebSocketUrl(url, &error)); };
  CHECK(name("wss://chat.example.com/ws") == "chat.example.com_ws");
  CHECK(name("ws://chat.example.com:80/") == "chat.example.com");
  CHECK(name("wss://chat.example.com:8443/a/b?token=x") == "chat.example.com:8443_a_b");
  CHECK(name("ws://user:secret@10.1.2.3:9000/ws") == "10.1.2.3:9000_ws");
}

TEST_CASE("target files: errors name the file, line, column and key", "[unit]") {
  ScratchDirectory dir;
  dir.write("wsprobe.toml", kMain);
  struct Case {
    std::string file, text, message;
  };
  const std::vector<Case> cases = {
      {"targets.d/bad.toml", "[[target]]\nname = \"x\"\nurl = \"ws://h/\"\nconections = 2\n",
       "bad.toml:4:1: key 'target[0].conections': unknown key"},
      {"targets.d/bad.toml", "[agent]\nlocation = \"x\"\n", "bad.toml:1:2: key 'agent': unknown key"},
      {"targets.d/bad.toml", "[[target]]\nname = \"main\"\nurl = \"ws://h/\"\n",
       "bad.toml:2:8: key 'target[0].name': duplicate target name 'main' (also "
       "in"},
      {"sd/bad.json", "[{\"targets\": [\"ws://h/\"],\n \"labels\": {\"job\": \"x\"}}]",
       "bad.json:2:13: key '[0].labels.job': is a label wsprobe or Prometheus "
       "sets itself"},
      {"sd/bad.json", "[{\"targets\": [\"http://h/\"]}]",
       "bad.json:1:15: key '[0].targets[0]': invalid WebSocket URL"},
      {"sd/bad.json", "[{\"targets\": [\"ws://h/\"],}]",
       "bad.json:1:26: syntax error while parsing object key"},
      {"sd/bad.yml", "- targets: [ws://a/, ws://b/]\n  labels: {__wsprobe_target: one}\n",
       "bad.yml:2:30: key '[0].labels.__wsprobe_target': names one target, but "
       "the group has 2 URLs"},
      {"sd/bad.yml", "- target: [ws://a/]\n", "bad.yml:1:3: key '[0].target': unknown key"},
      {"sd/bad.yml", "targets: [ws://a/]\n", "bad.yml:1:1: key '(document)': must be a list"},
      {"sd/bad.yml", "- targets: ['ws://a/x', 'ws://a/x']\n", "duplicate target name 'a_x'"},
  };
  for (const auto& c : cases) {
    INFO(c.file << ": " << c.text);
    const fs::path path = dir.write(c.file, c.text);
    const ConfigResult loaded = loadFrom(dir);
    CHECK_FALSE(loaded.config);
    CHECK_THAT(loaded.error, Catch::Contains(c.message));
    fs::remove(path);
  }
  // With the broken files gone, the same directory loads.
  CHECK(loadFrom(dir).config);
}

TEST_CASE("target files: the directories to watch include the pattern's even "
    "before it matches",
    "[unit]") {
  ScratchDirectory dir;
  dir.write("wsprobe.toml",
            "[agent]\ntarget_files = [\"later/*.toml\", "
            "\"/nonexistent/x/*/t.toml\"]\n");
  FileConfigSource source((dir.path / "wsprobe.toml").string(), std::nullopt, noEnvironment());
  REQUIRE(source.load().config);
  const auto watched = source.watchedDirectories();
  CHECK(std::set<std::string>(watched.begin(), watched.end()) ==
        std::set<std::string>{(dir.path / "later").string(), "/nonexistent/x"});
}

TEST_CASE("target files: a shard keeps its own targets, the command line's "
    "setting winning",
    "[unit]") {
  ScratchDirectory dir;
  std::string main = "[agent]\nshard = \"1/3\"\n";
  for (int i = 0; i < 30; ++i) {
    main += "[[target]]\nname = \"t" + std::to_string(i) + "\"\nurl = \"ws://127.0.0.1:1/\"\n";
  }
  dir.write("wsprobe.toml", main);
  std::set<std::string> all;
  for (std::uint32_t k = 0; k < 3; ++k) {
    const ConfigResult loaded = loadFrom(dir, ShardSetting{k, 3});
    REQUIRE(loaded.config);
    CHECK(loaded.config->shard == Shard{k, 3});
    for (const auto& spec : loaded.config->targets) {
      CHECK(shardOf(spec.name, 3) == k);
      CHECK(all.insert(spec.name).second);  // held by one shard only
    }
  }
  CHECK(all.size() == 30);
  const ConfigResult from_file = loadFrom(dir);
  REQUIRE(from_file.config);
  CHECK(from_file.config->shard == Shard{1, 3});

  dir.write("wsprobe.toml", "[agent]\nshard = \"3/3\"\n");
  CHECK_THAT(loadFrom(dir).error, Catch::Contains("wsprobe.toml:2:9: key 'agent.shard': the shard K"));
}
