// The path an upgrade is sent to: what the protocol's official client sends
// for the URL a user pastes (socket.io-client adds EIO and transport,
// sockjs-client adds /<server>/<session>/websocket). Table-driven over the
// pure function, and through prepareRequest as the engine calls it.
#include "probes/protocols/upgrade_path.h"

#include <catch2/catch.hpp>

#include "probes/prepared_request.h"
#include "probes/protocols/protocol_detection.h"

using wsprobe::upgradePath;

TEST_CASE(
    "upgrade path: socketio and auto on a /socket.io/ path get what "
    "socket.io-client adds",
    "[unit]") {
  struct Case {
    const char *protocol;
    const char *configured;
    const char *upgraded;
  };
  const std::vector<Case> cases = {
      // Bare URLs, as pasted.
      {"socketio", "/socket.io/", "/socket.io/?EIO=4&transport=websocket"},
      {"auto", "/socket.io/", "/socket.io/?EIO=4&transport=websocket"},
      {"socketio", "/", "/socket.io/?EIO=4&transport=websocket"},
      {"socketio", "", "/socket.io/?EIO=4&transport=websocket"},
      // The trailing slash the server's prefix match needs.
      {"socketio", "/socket.io", "/socket.io/?EIO=4&transport=websocket"},
      {"auto", "/socket.io", "/socket.io/?EIO=4&transport=websocket"},
      {"auto", "/chat/socket.io?room=1", "/chat/socket.io/?room=1&EIO=4&transport=websocket"},
      // The user's query kept, in its order.
      {"socketio", "/socket.io/?token=abc", "/socket.io/?token=abc&EIO=4&transport=websocket"},
      {"auto", "/socket.io/?a=1&b=&c", "/socket.io/?a=1&b=&c&EIO=4&transport=websocket"},
      {"auto", "/socket.io/?", "/socket.io/?EIO=4&transport=websocket"},
      {"auto", "/socket.io/?&&x=1&", "/socket.io/?x=1&EIO=4&transport=websocket"},
      // Already complete: unchanged.
      {"auto", "/socket.io/?EIO=4&transport=websocket", "/socket.io/?EIO=4&transport=websocket"},
      {"socketio", "/socket.io/?transport=websocket&EIO=4", "/socket.io/?EIO=4&transport=websocket"},
      // EIO given by the user is theirs: v3 stays v3 (the codec reads it).
      {"auto", "/socket.io/?EIO=3", "/socket.io/?EIO=3&transport=websocket"},
      {"socketio", "/socket.io/?EIO=3&transport=websocket&t=1", "/socket.io/?EIO=3&t=1&transport=websocket"},
      // The client always upgrades with transport=websocket.
      {"socketio", "/socket.io/?transport=polling&EIO=4", "/socket.io/?EIO=4&transport=websocket"},
      // A fragment is never sent.
      {"socketio", "/socket.io/?x=1#part", "/socket.io/?x=1&EIO=4&transport=websocket"},
      // auto without a socket.io path segment: the URL as given.
      {"auto", "/ws", "/ws"},
      {"auto", "/", "/"},
      {"auto", "/ws?next=/socket.io/", "/ws?next=/socket.io/"},
      {"auto", "/socket.iox/", "/socket.iox/"},
      {"auto", "/graphql", "/graphql"},
      // Other protocols: as given, even on a socket.io-looking path.
      {"raw", "/socket.io/", "/socket.io/"},
      {"graphql-ws", "/socket.io/", "/socket.io/"},
  };
  for (const auto &c : cases) {
    INFO(c.protocol << " " << c.configured);
    CHECK(upgradePath(c.protocol, c.configured, 42) == c.upgraded);
  }
}

TEST_CASE(
    "upgrade path: a completed socket.io path is still detected as "
    "socketio by auto",
    "[unit]") {
  for (const char *configured : {"/socket.io/", "/socket.io", "/app/socket.io/?token=x"}) {
    INFO(configured);
    CHECK(wsprobe::detectAtUpgrade(configured, "") == "socketio");
    CHECK(wsprobe::detectAtUpgrade(upgradePath("auto", configured, 1), "") == "socketio");
  }
}

TEST_CASE(
    "upgrade path: sockjs gets a fresh /<server>/<session>/websocket "
    "below its base URL",
    "[unit]") {
  const auto built = upgradePath("sockjs", "/echo", 123456789);
  CHECK(built.starts_with("/echo/789/"));
  CHECK(built.ends_with("/websocket"));
  CHECK(wsprobe::detectAtUpgrade(built, "") == "sockjs");
  CHECK(upgradePath("sockjs", "/echo/", 5).starts_with("/echo/005/"));
  CHECK(upgradePath("sockjs", "/echo?t=1", 5).ends_with("/websocket?t=1"));
  CHECK(upgradePath("sockjs", "/echo#x", 5).ends_with("/websocket"));
  CHECK(upgradePath("sockjs", "/", 5).starts_with("/005/"));
  // A new session per attempt.
  CHECK(upgradePath("sockjs", "/echo", 1) != upgradePath("sockjs", "/echo", 2));
  // A full session URL is kept as given.
  CHECK(upgradePath("sockjs", "/echo/000/abc/websocket", 5) == "/echo/000/abc/websocket");
  // auto never invents a SockJS session: its base URL gives no hint.
  CHECK(upgradePath("auto", "/echo", 5) == "/echo");
}

TEST_CASE(
    "upgrade path: prepareRequest upgrades on the protocol's path after "
    "reading credentials",
    "[unit]") {
  wsprobe::TargetSpec spec;
  std::string error;
  spec.url = *wsprobe::parseWebSocketUrl("ws://127.0.0.1:1/socket.io/?token=${file:/t}", &error);
  spec.protocol = "auto";
  const wsprobe::FileReader read = [](const std::string &, std::string &) -> std::optional<std::string> {
    return "s3cret";
  };
  auto outcome = wsprobe::prepareRequest(spec, read, 7);
  REQUIRE(std::holds_alternative<wsprobe::PreparedRequest>(outcome));
  CHECK(std::get<wsprobe::PreparedRequest>(outcome).path ==
        "/socket.io/?token=s3cret&EIO=4&transport=websocket");

  spec.protocol = "raw";
  outcome = wsprobe::prepareRequest(spec, read, 7);
  REQUIRE(std::holds_alternative<wsprobe::PreparedRequest>(outcome));
  CHECK(std::get<wsprobe::PreparedRequest>(outcome).path == "/socket.io/?token=s3cret");

  spec.url = *wsprobe::parseWebSocketUrl("ws://127.0.0.1:1/echo", &error);
  spec.protocol = "sockjs";
  const auto first = std::get<wsprobe::PreparedRequest>(wsprobe::prepareRequest(spec, read, 7)).path;
  const auto second = std::get<wsprobe::PreparedRequest>(wsprobe::prepareRequest(spec, read, 8)).path;
  CHECK(first.starts_with("/echo/007/"));
  CHECK(first != second);
}
