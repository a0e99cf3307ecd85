// `protocol = "auto"`: table-driven cases over the pure detection functions.
#include "probes/protocols/protocol_detection.h"

#include <catch2/catch.hpp>

using wsprobe::autoSubprotocols;
using wsprobe::detectAtUpgrade;
using wsprobe::detectFromFirstMessage;

TEST_CASE("detection: subprotocols offered from the URL", "[unit]") {
  using Offer = std::vector<std::string>;
  // Legacy first: subscriptions-transport-ws servers take the first offered.
  const Offer graphql{"graphql-ws", "graphql-transport-ws"};
  struct Case {
    const char* url_path;
    Offer offer;
  };
  const std::vector<Case> cases = {
      {"/graphql", graphql},
      {"/api/graphql/", graphql},
      {"/graphql?token=x", graphql},
      {"/subscriptions", graphql},
      {"/mqtt", {"mqtt"}},
      {"/cable", {"actioncable-v1-json"}},
      {"/stomp", {"v12.stomp", "v11.stomp", "v10.stomp"}},
      {"/broker/stomp/?x=1", {"v12.stomp", "v11.stomp", "v10.stomp"}},
      {"/stomp/ws", {}},
      {"/nostomp", {}},
      {"/ws", {}},
      {"/", {}},
      {"", {}},
      {"/graphql-old", {}},
      {"/socket.io/?EIO=4&transport=websocket", {}},
      {"/ws?next=/graphql", {}},
  };
  for (const auto& c : cases) {
    INFO(c.url_path);
    CHECK(autoSubprotocols(c.url_path) == c.offer);
  }
}

TEST_CASE("detection: at the upgrade, from the picked subprotocol and the URL", "[unit]") {
  struct Case {
    const char* url_path;
    const char* subprotocol;
    std::optional<std::string_view> protocol;
  };
  const std::vector<Case> cases = {
      {"/socket.io/?EIO=4&transport=websocket", "", "socketio"},
      {"/socket.io/", "", "socketio"},
      {"/custom/?EIO=3&transport=websocket", "", "socketio"},
      {"/echo/123/a1b2c3/websocket", "", "sockjs"},
      {"/sockjs/000/x/websocket/", "", "sockjs"},
      {"/echo/12/a1b2c3/websocket", "", std::nullopt},
      {"/echo/websocket", "", std::nullopt},
      {"/socket/websocket?vsn=2.0.0", "", "phoenix"},
      {"/live/websocket?vsn=2.0.0&_csrf_token=x", "", "phoenix"},
      {"/socket/websocket", "", "phoenix"},
      {"/graphql", "graphql-transport-ws", "graphql-ws"},
      {"/graphql", "graphql-ws", "graphql-ws"},
      {"/graphql", "", std::nullopt},
      {"/mqtt", "mqtt", "mqtt"},
      {"/ws", "mqttv3.1", "mqtt"},
      {"/ws", "v10.stomp", "stomp"},
      {"/ws", "v11.stomp", "stomp"},
      {"/ws", "v12.stomp", "stomp"},
      {"/cable", "actioncable-v1-json", "actioncable"},
      {"/hubs/chat", "", std::nullopt},  // SignalR: by configuration only
      {"/ws", "chat.v1", std::nullopt},
      {"/ws", "", std::nullopt},
      {"/ws?q=socket.io", "", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.url_path << " / " << c.subprotocol);
    CHECK(detectAtUpgrade(c.url_path, c.subprotocol) == c.protocol);
  }
}

TEST_CASE("detection: from the server's first message, raw when nothing is recognised", "[unit]") {
  struct Case {
    std::optional<std::string_view> first;
    std::string_view protocol;
  };
  const std::vector<Case> cases = {
      {R"(0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})",
       "socketio"},
      {R"(0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":60000})", "socketio"},
      {"o", "sockjs"},
      {R"({"type":"welcome"})", "actioncable"},
      {R"({"type":"welcome","sid":"x"})", "actioncable"},
      {R"({"type":"ping","message":1})", "raw"},
      {"0{not json", "raw"},
      {"0", "raw"},
      {"open", "raw"},
      {"hello", "raw"},
      {"", "raw"},
      {"{\"type\":\"welc\xff\"}", "raw"},
      {std::nullopt, "raw"},
  };
  for (const auto& c : cases) {
    INFO((c.first ? std::string(*c.first) : "(none)"));
    CHECK(detectFromFirstMessage("/ws", c.first) == c.protocol);
  }
}
