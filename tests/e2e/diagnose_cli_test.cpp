// The built `wsprobe diagnose` as a person runs it: options in any order,
// exit status 0 for a healthy endpoint, 1 for a problem, 2 for usage errors.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "testbed/misbehaving_endpoint.h"
#include "support/child_process.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

TEST_CASE("diagnose CLI: a healthy endpoint exits 0, repeated headers and subprotocols before the URL",
          "[e2e]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  const auto result =
      runCommand({WSPROBE_BINARY, "diagnose", "-H", "X-One: 1", "-H", "Authorization: Bearer hush-hush",
                  "--subprotocol", "chat.v1", "--subprotocol", "chat.v2", server.url("/ws?token=t0p"),
                  "--duration", "1500ms", "--ping-interval", "200ms", "--json"},
                 20s);
  INFO(result.output);
  CHECK(result.exit_code == 0);
  const auto report = nlohmann::json::parse(result.output);
  CHECK(report["exit_status"] == 0);
  CHECK(report["findings"][0]["id"] == "healthy");
  CHECK(report["headers"] == nlohmann::json::array({"X-One", "Authorization"}));
  CHECK(report["url"].get<std::string>().find("t0p") == std::string::npos);
  CHECK(result.output.find("hush-hush") == std::string::npos);
  // The server saw what was asked for.
  const auto requests = server.requests();  // a snapshot
  REQUIRE_FALSE(requests.empty());
  const auto& request = requests.front();
  CHECK(request.header("x-one") == "1");
  CHECK(request.header("authorization") == "Bearer hush-hush");
  CHECK(request.header("sec-websocket-protocol") == "chat.v1, chat.v2");
}

TEST_CASE("diagnose CLI: a refused upgrade exits 1 and says what the status means", "[e2e]") {
  EndpointBehaviour refusing;
  refusing.refuse_status = 401;
  MisbehavingEndpoint server(refusing);
  const auto result = runCommand({WSPROBE_BINARY, "diagnose", server.url("/ws"), "--duration", "30s"}, 20s);
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Contains("refused with HTTP 401"));
  CHECK_THAT(result.output, Contains("Authentication is required"));
}

TEST_CASE("diagnose CLI: usage errors exit 2", "[e2e]") {
  const std::vector<std::vector<std::string>> mistakes = {
      {"diagnose"},
      {"diagnose", "http://example.com/ws"},
      {"diagnose", "ws://127.0.0.1:1/", "--duration", "soon"},
      {"diagnose", "ws://127.0.0.1:1/", "--ping-interval", "0s"},
      {"diagnose", "ws://127.0.0.1:1/", "--expect", "pong"},
      {"diagnose", "ws://127.0.0.1:1/", "--message", "hi", "--expect", "("},
      {"diagnose", "ws://127.0.0.1:1/", "-H", "no colon"},
      {"diagnose", "ws://127.0.0.1:1/", "--ca-file", "/nonexistent/ca.pem"},
      {"diagnose", "ws://127.0.0.1:1/", "--no-such-option"},
  };
  for (const auto& arguments : mistakes) {
    std::vector<std::string> argv = {WSPROBE_BINARY};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    const auto result = runCommand(argv, 10s, true);
    INFO(arguments.size() << " arguments, the last: " << arguments.back() << "\n" << result.output);
    CHECK(result.exit_code == 2);
  }
}
