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

TEST_CASE("redaction replaces the userinfo by position, never other text equal to it", "[unit]") {
  struct Case {
    const char* url;
    const char* shown;
  };
  const Case cases[] = {
      {"ws://s@host/", "ws://***@host/"},                        // userinfo inside the scheme
      {"wss://ws@ws/ws", "wss://***@ws/ws"},                     // equal to the scheme and to the host
      {"ws://host@host/host", "ws://***@host/host"},             // equal to the host and the path
      {"ws://bob:@host/", "ws://***@host/"},                     // empty password
      {"ws://:pw@host/", "ws://***@host/"},                      // empty user
      {"ws://a@b@host/", "ws://***@host/"},                      // '@' inside the userinfo
      {"ws://host/p@th", "ws://host/p@th"},                      // '@' in the path only
      {"ws://u:p@host/p@th", "ws://***@host/p@th"},              // '@' in the path and userinfo
      {"ws://u:p@host/x?to=u:p@host", "ws://***@host/x?to=***"},  // '@' in the query
      {"ws://host/x?next=a@b", "ws://host/x?next=***"},
      {"ws://u:p@[::1]:9000/x", "ws://***@[::1]:9000/x"},        // IPv6
      {"ws://[::1]:9000/x", "ws://[::1]:9000/x"},
      {"wss://user:pa55@chat.example.com/ws?access_token=abc&room=1&flag",
       "wss://***@chat.example.com/ws?access_token=***&room=***&flag"},
      {"ws://p%40ss@host/", "ws://***@host/"},
  };
  for (const Case& c : cases) {
    INFO(c.url);
    std::string error;
    const auto url = parseWebSocketUrl(c.url, &error);
    REQUIRE(url);
    CHECK(url->redacted() == c.shown);
  }
}

TEST_CASE("redactUrl hides userinfo and query values in any text, parsed or not", "[unit]") {
  using wsprobe::redactUrl;
  struct Case {
    const char* text;
    const char* shown;
  };
  const Case cases[] = {
      {"ws://user:pw@host:notaport/ws", "ws://***@host:notaport/ws"},  // does not parse
      {"ws://probe:${PASSWORD}@127.0.0.1:81/ws", "ws://***@127.0.0.1:81/ws"},  // before expansion
      {"bob:secret@host/ws", "***@host/ws"},                            // scheme missing
      {"http://u:p@h/", "http://***@h/"},                               // another scheme
      {"ws://host/a?b", "ws://host/a?b"},
      {"ws://host/?token=t&x=", "ws://host/?token=***&x=***"},
      {"ws://host/p#frag?x=1", "ws://host/p#***"},                      // fragment first
      {"ws://host/p?x=1#frag", "ws://host/p?x=***#***"},
      {"ws://u@", "ws://***@"},
      {"", ""},
      {"ws://", "ws://"},
      {"://u:p@h", "://***@h"},  // no scheme name
      {"w s://u:p@h/", "w s://***@h/"},  // not a scheme
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(redactUrl(c.text) == c.shown);
  }
  // Redacting twice changes nothing more.
  for (const Case& c : cases) CHECK(redactUrl(redactUrl(c.text)) == redactUrl(c.text));
}
