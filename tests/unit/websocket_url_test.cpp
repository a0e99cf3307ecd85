#include <catch2/catch.hpp>

#include "probes/websocket_url.h"

using wsprobe::parseWebSocketUrl;

TEST_CASE("WebSocket URLs are split into their parts", "[unit]") {
  std::string error;
  auto url = parseWebSocketUrl("wss://chat.example.com/ws?room=1", &error);
  REQUIRE(url);
  CHECK(url->secure);
  CHECK(url->host == "chat.example.com");
  CHECK(url->port == 443);
  CHECK(url->path == "/ws?room=1");

  url = parseWebSocketUrl("ws://127.0.0.1:8080", &error);
  REQUIRE(url);
  CHECK_FALSE(url->secure);
  CHECK(url->port == 8080);
  CHECK(url->path == "/");

  url = parseWebSocketUrl("ws://[::1]:9000/x", &error);
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 9000);
}

TEST_CASE("credentials in a URL are kept apart and redacted", "[unit]") {
  std::string error;
  const auto url = parseWebSocketUrl("wss://bob:s3cret@host.example/ws", &error);
  REQUIRE(url);
  CHECK(url->userinfo == "bob:s3cret");
  CHECK(url->host == "host.example");
  CHECK(url->redacted().find("s3cret") == std::string::npos);
}

TEST_CASE("broken URLs are refused with a reason", "[unit]") {
  for (const char* text : {"http://x/", "ws://", "ws://host:0/", "ws://host:70000/", "ws://host:x/",
                           "ws://ho st/", "ws://[::1/", "ws://host/#frag", "chat.example.com"}) {
    INFO(text);
    std::string error;
    CHECK_FALSE(parseWebSocketUrl(text, &error));
    CHECK_FALSE(error.empty());
  }
}
