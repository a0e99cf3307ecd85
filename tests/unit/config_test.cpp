#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <unistd.h>

#include "agent/config.h"

using namespace wsprobe;
using namespace std::chrono_literals;

namespace {

EnvLookup fakeEnvironment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    const auto found = values.find(std::string(name));
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
}

ConfigResult parse(const std::string& text, std::map<std::string, std::string> env = {}) {
  return parseConfig(text, "wsprobe.toml", fakeEnvironment(std::move(env)));
}

const char* const kSpecExample = R"(
[agent]
location = "fra1"

[web]
listen_address = ":9713"

[defaults]
connections = 1
heartbeat = "ping"
heartbeat_message = '{"type":"ping"}'
heartbeat_expect = 'pong'
ping_interval = "20s"
pong_timeout = "10s"
connect_timeout = "10s"
idle_probe = false
backoff_initial = "1s"
backoff_max = "30s"
backoff_multiplier = 2.0

[[target]]
name = "chat"
url = "wss://chat.example.com/ws"
connections = 2
idle_probe = true
subprotocols = ["chat.v1"]
origin = "https://chat.example.com"
headers = { Authorization = "Bearer ${CHAT_TOKEN}" }
labels = { team = "chat" }
tls = { insecure_skip_verify = false, server_name = "chat.example.com" }

[[target]]
name = "feed"
url = "ws://127.0.0.1:8080/feed?x=1"
ping_interval = "5s"
)";

}  // namespace

TEST_CASE("SPEC's example configuration loads with every key applied", "[unit]") {
  const auto result = parse(kSpecExample, {{"CHAT_TOKEN", "s3cret"}});
  INFO(result.error);
  REQUIRE(result.config);
  const Config& config = *result.config;
  CHECK(config.location == "fra1");
  CHECK(config.web.listen_address == ":9713");
  REQUIRE(config.targets.size() == 2);

  const TargetSpec& chat = config.targets[0];
  CHECK(chat.name == "chat");
  CHECK(chat.url.secure);
  CHECK(chat.url.host == "chat.example.com");
  CHECK(chat.url.port == 443);
  CHECK(chat.url.path == "/ws");
  CHECK(chat.connections == 2);
  CHECK(chat.idle_probe);
  CHECK(chat.subprotocols == std::vector<std::string>{"chat.v1"});
  CHECK(chat.origin == "https://chat.example.com");
  REQUIRE(chat.headers.size() == 1);
  CHECK(chat.headers[0].first == "Authorization");
  CHECK(chat.headers[0].second == "Bearer s3cret");
  CHECK(chat.labels == std::map<std::string, std::string>{{"team", "chat"}});
  CHECK(chat.tls.server_name == "chat.example.com");
  CHECK(chat.ping_interval == 20s);
  CHECK(chat.pong_timeout == 10s);
  CHECK(chat.backoff_max == 30s);

  const TargetSpec& feed = config.targets[1];
  CHECK(feed.connections == 1);  // from [defaults]
  CHECK(feed.ping_interval == 5s);
  CHECK(feed.pong_timeout == 10s);
  CHECK(feed.url.port == 8080);
  CHECK(feed.url.path == "/feed?x=1");
  CHECK_FALSE(feed.idle_probe);
}

TEST_CASE("defaults fill every target, headers and labels merge by name", "[unit]") {
  const auto result = parse(R"(
[defaults]
ping_interval = "3s"
heartbeat = "message"
headers = { "X-Env" = "prod", "X-Team" = "core" }
labels = { env = "prod" }
[[target]]
name = "a"
url = "ws://127.0.0.1:1/"
headers = { "x-team" = "edge" }
labels = { team = "edge" }
)");
  INFO(result.error);
  REQUIRE(result.config);
  const TargetSpec& a = result.config->targets.at(0);
  CHECK(a.ping_interval == 3s);
  CHECK(a.heartbeat == Heartbeat::message);
  CHECK(a.labels == std::map<std::string, std::string>{{"env", "prod"}, {"team", "edge"}});
  REQUIRE(a.headers.size() == 2);
  CHECK(a.headers[1].second == "edge");  // case-insensitive override
}

TEST_CASE("${VAR} expands in URLs and header values, $$ is a literal $", "[unit]") {
  const auto result = parse(R"(
[[target]]
name = "a"
url = "wss://bot:${PASS}@${HOST}:8443/ws?token=${TOKEN}"
headers = { "X-Price" = "$$5 ${TOKEN}" }
)",
                            {{"PASS", "hunter2"}, {"HOST", "example.org"}, {"TOKEN", "t0k"}});
  INFO(result.error);
  REQUIRE(result.config);
  const TargetSpec& a = result.config->targets.at(0);
  CHECK(a.url.host == "example.org");
  CHECK(a.url.port == 8443);
  CHECK(a.url.userinfo == "bot:hunter2");
  CHECK(a.url.path == "/ws?token=t0k");
  CHECK(a.headers.at(0).second == "$5 t0k");
  // What may be shown is the configured text with the credentials masked.
  CHECK(a.url.text == "wss://***@${HOST}:8443/ws?token=***");  // shown: one redaction for every URL
}

TEST_CASE("an empty file is a valid configuration with no targets", "[unit]") {
  const auto result = parse("");
  REQUIRE(result.config);
  CHECK(result.config->targets.empty());
  CHECK(result.config->web.listen_address == ":9713");
}

TEST_CASE("broken files are refused with file, line, column and key", "[unit]") {
  struct Case {
    const char* what;
    const char* text;
    const char* where;    // "FILE:LINE:COLUMN"
    const char* key;      // the key named, or "" for TOML syntax errors
    const char* message;  // part of the explanation
  };
  const Case cases[] = {
      {"unknown top-level key", "[agnet]\nlocation = \"x\"\n", "wsprobe.toml:1:2", "agnet", "unknown key"},
      {"unknown key in a target", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nping_intervall = \"1s\"\n",
       "wsprobe.toml:4:1", "target[0].ping_intervall", "unknown key"},
      {"unknown key in defaults", "[defaults]\nconections = 2\n", "wsprobe.toml:2:1", "defaults.conections",
       "unknown key"},
      {"unknown key in tls", "[[target]]\nname = \"a\"\nurl = \"wss://h/\"\ntls = { ca = \"x\" }\n",
       "wsprobe.toml:4:9", "target[0].tls.ca", "unknown key"},
      {"duration without unit", "[defaults]\nping_interval = \"20\"\n", "wsprobe.toml:2:17",
       "defaults.ping_interval", "needs a unit"},
      {"duration as a number", "[defaults]\npong_timeout = 10\n", "wsprobe.toml:2:16", "defaults.pong_timeout",
       "must be a string, not an integer"},
      {"wrong type", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nconnections = \"2\"\n", "wsprobe.toml:4:15",
       "target[0].connections", "must be an integer"},
      {"negative connections", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nconnections = -1\n",
       "wsprobe.toml:4:15", "target[0].connections", "between 0 and"},
      {"bad URL scheme", "[[target]]\nname = \"a\"\nurl = \"http://h/\"\n", "wsprobe.toml:3:7", "target[0].url",
       "ws:// or wss://"},
      {"bad URL port", "[[target]]\nname = \"a\"\nurl = \"ws://h:99999/\"\n", "wsprobe.toml:3:7",
       "target[0].url", "invalid port"},
      {"missing url", "[[target]]\nname = \"a\"\n", "wsprobe.toml:1:1", "target[0].url", "is required"},
      {"duplicate names", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\n[[target]]\nname = \"a\"\nurl = \"ws://h/\"\n",
       "wsprobe.toml:5:8", "target[1].name", "duplicate target name 'a'"},
      {"bad target name", "[[target]]\nname = \"a b\"\nurl = \"ws://h/\"\n", "wsprobe.toml:2:8", "target[0].name",
       "[a-zA-Z0-9_.:-]+"},
      {"missing environment variable",
       "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nheaders = { Authorization = \"Bearer ${NOPE}\" }\n",
       "wsprobe.toml:4:29", "target[0].headers.Authorization", "environment variable 'NOPE' is not set"},
      {"bad heartbeat kind", "[defaults]\nheartbeat = \"pong\"\n", "wsprobe.toml:2:13", "defaults.heartbeat",
       "\"ping\" or \"message\""},
      {"bad regular expression", "[defaults]\nheartbeat_expect = \"(unclosed\"\n", "wsprobe.toml:2:20",
       "defaults.heartbeat_expect", "invalid regular expression"},
      {"reserved label", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nlabels = { target = \"x\" }\n",
       "wsprobe.toml:4:21", "target[0].labels.target", "sets itself"},
      {"reserved header", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nheaders = { Host = \"x\" }\n",
       "wsprobe.toml:4:20", "target[0].headers.Host", "set by wsprobe"},
      {"missing CA file", "[[target]]\nname = \"a\"\nurl = \"wss://h/\"\ntls = { ca_file = \"/nonexistent/ca.pem\" }\n",
       "wsprobe.toml:4:19", "target[0].tls.ca_file", "cannot read '/nonexistent/ca.pem'"},
      {"backoff_max below backoff_initial", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nbackoff_initial = \"10s\"\nbackoff_max = \"1s\"\n",
       "wsprobe.toml:5:15", "target[0].backoff_max", "must not be shorter"},
      {"nothing to hold", "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nconnections = 0\n", "wsprobe.toml:4:15",
       "target[0].connections", "would hold nothing"},
      {"target is not an array of tables", "target = \"x\"\n", "wsprobe.toml:1:10", "target",
       "array of tables"},
      {"bad listen address", "[web]\nlisten_address = \"9713\"\n", "wsprobe.toml:2:18", "web.listen_address",
       "HOST:PORT"},
      {"basic auth password not hashed", "[web.basic_auth_users]\nalice = \"plaintext\"\n", "wsprobe.toml:2:9",
       "web.basic_auth_users.alice", "bcrypt"},
      {"TOML syntax error", "[defaults\nping_interval = \"1s\"\n", "wsprobe.toml:1:", "", ""},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto result = parse(c.text);
    INFO(result.error);
    REQUIRE_FALSE(result.config);
    CHECK_THAT(result.error, Catch::StartsWith(c.where));
    if (*c.key) CHECK_THAT(result.error, Catch::Contains(std::string("key '") + c.key + "'"));
    CHECK_THAT(result.error, Catch::Contains(c.message));
  }
}

TEST_CASE("errors never show an expanded secret", "[unit]") {
  const std::map<std::string, std::string> env = {{"SECRET", "hunter2-very-secret"}};
  const char* const broken[] = {
      // The URL does not parse after expansion.
      "[[target]]\nname = \"a\"\nurl = \"ws://u:${SECRET}@h:notaport/\"\n",
      "[[target]]\nname = \"a\"\nurl = \"wss://${SECRET}\"\nfoo = 1\n",
      // A header value with a line break after expansion.
      "[[target]]\nname = \"a\"\nurl = \"ws://h/\"\nheaders = { X = \"${SECRET}\\r\\nEvil: 1\" }\n",
  };
  for (const char* text : broken) {
    const auto result = parse(text, env);
    REQUIRE_FALSE(result.config);
    INFO(result.error);
    CHECK_THAT(result.error, !Catch::Contains("hunter2"));
  }
}

TEST_CASE("loading a file that cannot be read names it", "[unit]") {
  const auto result = loadConfigFile("/nonexistent/wsprobe.toml", processEnvironment());
  REQUIRE_FALSE(result.config);
  CHECK_THAT(result.error, Catch::StartsWith("/nonexistent/wsprobe.toml: cannot read"));
}

TEST_CASE("a file on disk loads and names itself in errors", "[unit]") {
  char path[] = "/tmp/wsprobe-config-test-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "[defaults]\nping_interval = \"1x\"\n";
  }
  const auto result = loadConfigFile(path, processEnvironment());
  std::remove(path);
  REQUIRE_FALSE(result.config);
  CHECK_THAT(result.error, Catch::StartsWith(std::string(path) + ":2:17: key 'defaults.ping_interval'"));
}
