// Transcripts of both GraphQL-over-WebSocket protocols, written from their
// documents: enisdenjo/graphql-ws PROTOCOL.md (graphql-transport-ws) and
// apollographql/subscriptions-transport-ws PROTOCOL.md (graphql-ws).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using nlohmann::json;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

std::unique_ptr<wsprobe::SessionProtocol>
makeSession(const wsprobe::SessionSettings &settings) {
  const auto *entry = wsprobe::findProtocol("graphql-ws");
  REQUIRE(entry);
  return entry->make(settings);
}

// What the codec sent since the last call, each parsed as JSON.
std::vector<json> takeSentJson(RecordingSessionSink &sink) {
  std::vector<json> out;
  for (const auto &text : sink.takeSent())
    out.push_back(json::parse(text));
  return out;
}

void receive(wsprobe::SessionProtocol &session, RecordingSessionSink &sink,
             std::string_view text, wsprobe::Duration at) {
  session.receive(MessageKind::text, text, atOffset(at), sink);
}

} // namespace

TEST_CASE("graphql-transport-ws: connection_init with the payload, ready at "
          "connection_ack, then subscribe",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.session = {{"payload", {{"token", "abc"}}},
                      {"variables", {{"symbol", "X"}}}};
  settings.subscribe = {"subscription { ticks }", "subscription { news }"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;

  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  CHECK(takeSentJson(sink) ==
        std::vector<json>{
            {{"type", "connection_init"}, {"payload", {{"token", "abc"}}}}});
  CHECK_FALSE(sink.ready);
  CHECK_FALSE(session->nextWake()); // no ping before the ack

  receive(*session, sink, R"({"type":"connection_ack"})", 100ms);
  CHECK(sink.ready);
  const json variables = {{"symbol", "X"}};
  CHECK(takeSentJson(sink) ==
        std::vector<json>{
            {{"id", "1"},
             {"type", "subscribe"},
             {"payload",
              {{"query", "subscription { ticks }"}, {"variables", variables}}}},
            {{"id", "2"},
             {"type", "subscribe"},
             {"payload",
              {{"query", "subscription { news }"}, {"variables", variables}}}},
        });
  // A second ack is ignored, as the library's client ignores it.
  receive(*session, sink, R"({"type":"connection_ack"})", 200ms);
  CHECK(sink.ready_calls == 1);
  CHECK_FALSE(sink.refused);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("graphql-transport-ws: spoken when the server picked no subprotocol, "
          "no payload field without one",
          "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{R"({"type":"connection_init"})"});
  receive(*session, sink,
          R"({"type":"connection_ack","payload":{"server":"x"}})", 10ms);
  CHECK(sink.ready);
  CHECK(sink.sent.empty()); // nothing to subscribe to
}

TEST_CASE("graphql-transport-ws: the server's ping is answered with a pong "
          "carrying its payload",
          "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  sink.takeSent();
  // Before the ack too: a ping may come at any time.
  receive(*session, sink, R"({"type":"ping"})", 10ms);
  CHECK(sink.takeSent() == std::vector<std::string>{R"({"type":"pong"})"});
  receive(*session, sink, R"({"type":"connection_ack"})", 20ms);
  receive(*session, sink, R"({"type":"ping","payload":{"seq":7}})", 30ms);
  CHECK(takeSentJson(sink) ==
        std::vector<json>{{{"type", "pong"}, {"payload", {{"seq", 7}}}}});
  receive(*session, sink, R"({"type":"ping","payload":null})", 40ms);
  CHECK(sink.takeSent() == std::vector<std::string>{R"({"type":"pong"})"});
  CHECK(sink.data_messages == 0);
  CHECK(sink.app_rtts.empty());
}

TEST_CASE("graphql-transport-ws: a ping every heartbeat interval, its pong is "
          "an app RTT",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.heartbeat_interval = 5s;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  receive(*session, sink, R"({"type":"connection_ack"})", 1s);
  sink.takeSent();
  REQUIRE(session->nextWake() == atOffset(6s));

  session->tick(atOffset(5900ms), sink); // early: nothing
  CHECK(sink.sent.empty());
  session->tick(atOffset(6s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"({"type":"ping"})"});
  CHECK(session->nextWake() == atOffset(11s));
  receive(*session, sink, R"({"type":"pong"})", 6250ms);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 250ms);
  // An unsolicited pong (a one-way heartbeat) is not a round trip.
  receive(*session, sink, R"({"type":"pong"})", 7s);
  CHECK(sink.app_rtts.size() == 1);

  SECTION("an unanswered ping holds the next ones back, for three intervals") {
    session->tick(atOffset(11s), sink);
    CHECK(sink.takeSent().size() == 1);
    session->tick(atOffset(16s), sink);
    session->tick(atOffset(21s), sink);
    CHECK(sink.sent.empty());
    CHECK(session->nextWake() == atOffset(26s));
    session->tick(atOffset(26s), sink); // 15 s unanswered: given up, a new one
    CHECK(sink.takeSent() == std::vector<std::string>{R"({"type":"ping"})"});
    receive(*session, sink, R"({"type":"pong"})", 26100ms);
    REQUIRE(sink.app_rtts.size() == 2);
    CHECK(sink.app_rtts[1] == 100ms);
  }
  SECTION("a late tick sends one ping and schedules from then") {
    session->tick(atOffset(30s), sink);
    CHECK(sink.takeSent().size() == 1);
    CHECK(session->nextWake() == atOffset(35s));
  }
  CHECK(sink.data_messages == 0);
}

TEST_CASE("graphql-transport-ws: next messages are data, but error, complete, ping "
          "and pong are not",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"subscription { ticks }"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  receive(*session, sink, R"({"type":"connection_ack"})", 1ms);
  receive(*session, sink,
          R"({"id":"1","type":"next","payload":{"data":{"ticks":1}}})", 1s);
  receive(*session, sink,
          R"({"id":"1","type":"next","payload":{"data":{"ticks":2}}})", 2s);
  receive(*session, sink, R"({"type":"ping"})", 2500ms);
  receive(*session, sink, R"({"type":"pong"})", 2600ms);
  receive(*session, sink, R"({"id":"9","type":"next","payload":{"data":null}})",
          3s); // unknown id: counted
  receive(*session, sink,
          R"({"id":"1","type":"error","payload":[{"message":"boom"}]})", 4s);
  receive(*session, sink, R"({"id":"1","type":"complete"})", 5s);
  CHECK(sink.data_messages == 3);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("graphql-transport-ws: the idle connection completes the handshake "
          "and answers pings, nothing else",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"subscription { ticks }"};
  settings.heartbeat_interval = 1s;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = true},
                 atOffset(0s), sink);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{R"({"type":"connection_init"})"});
  receive(*session, sink, R"({"type":"connection_ack"})", 10ms);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
  CHECK_FALSE(session->nextWake());
  session->tick(atOffset(10s), sink);
  CHECK(sink.sent.empty());
  receive(*session, sink, R"({"type":"ping"})", 11s);
  CHECK(sink.takeSent() == std::vector<std::string>{R"({"type":"pong"})"});
}

TEST_CASE("graphql-transport-ws: a first message other than the ack refuses "
          "the session",
          "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  receive(*session, sink, R"({"id":"1","type":"next","payload":{}})", 10ms);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "unexpected_message");
  CHECK(sink.refused->second.find("next") != std::string::npos);
  // Nothing counts after the session failed.
  receive(*session, sink, R"({"type":"connection_ack"})", 20ms);
  receive(*session, sink, R"({"type":"ping"})", 30ms);
  CHECK_FALSE(sink.ready);
  CHECK(sink.takeSent().size() == 1); // the connection_init only
}

TEST_CASE("graphql-transport-ws: an unknown type after the ack breaks the "
          "protocol (1002)",
          "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  receive(*session, sink, R"({"type":"connection_ack"})", 10ms);
  receive(*session, sink, R"({"type":"data","id":"1","payload":{}})", 20ms);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1002);
  CHECK_FALSE(sink.refused);
  CHECK(sink.data_messages == 0);
}

TEST_CASE("graphql-ws (subscriptions-transport-ws): init, ack, ka keepalives, "
          "start and data",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"subscription { ticks }"};
  settings.heartbeat_interval = 5s;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-ws", .idle = false}, atOffset(0s),
                 sink);
  // Its client sends connectionParams, {} by default.
  CHECK(sink.takeSent() ==
        std::vector<std::string>{R"({"payload":{},"type":"connection_init"})"});
  receive(*session, sink, R"({"type":"connection_ack"})", 10ms);
  receive(*session, sink, R"({"type":"ka"})", 11ms);
  CHECK(sink.ready);
  CHECK(
      takeSentJson(sink) ==
      std::vector<json>{{{"id", "1"},
                         {"type", "start"},
                         {"payload", {{"query", "subscription { ticks }"}}}}});
  // No request/reply in this protocol: no pings, no app RTT.
  CHECK_FALSE(session->nextWake());
  session->tick(atOffset(10s), sink);
  CHECK(sink.sent.empty());

  receive(*session, sink,
          R"({"id":"1","type":"data","payload":{"data":{"ticks":1}}})", 1s);
  receive(*session, sink, R"({"type":"ka"})", 2s);
  receive(*session, sink,
          R"({"id":"1","type":"data","payload":{"data":{"ticks":2}}})", 3s);
  // A parse error report keeps the connection; an operation's end is not data.
  receive(*session, sink,
          R"({"type":"connection_error","payload":{"message":"bad"}})", 4s);
  receive(*session, sink, R"({"id":"1","type":"complete"})", 5s);
  CHECK(sink.data_messages == 2);
  CHECK(sink.sent.empty()); // ka is not answered
  CHECK_FALSE(sink.ended);

  // next is not a message of this protocol.
  receive(*session, sink, R"({"id":"1","type":"next","payload":{}})", 6s);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1002);
}

TEST_CASE("graphql-ws (subscriptions-transport-ws): connection_error refuses "
          "the session",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.session = {{"payload", {{"token", "wrong"}}}};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-ws", .idle = false}, atOffset(0s),
                 sink);
  CHECK(takeSentJson(sink) ==
        std::vector<json>{
            {{"type", "connection_init"}, {"payload", {{"token", "wrong"}}}}});
  receive(
      *session, sink,
      R"({"type":"connection_error","payload":{"message":"Prohibited connection!"}})",
      10ms);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "connection_error");
  CHECK(sink.refused->second == "Prohibited connection!");
  CHECK_FALSE(sink.ready);
}

TEST_CASE("graphql-ws (subscriptions-transport-ws): the idle connection sends "
          "no start",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"subscription { ticks }"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-ws", .idle = true}, atOffset(0s),
                 sink);
  sink.takeSent();
  receive(*session, sink, R"({"type":"connection_ack"})", 10ms);
  receive(*session, sink, R"({"type":"ka"})", 20ms);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
}

TEST_CASE("graphql-ws: malformed input is a counted failure, never a throw",
          "[unit]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::vector<std::string> inputs = {
      "",
      "{",
      "not json",
      "[]",
      "null",
      "42",
      R"("connection_ack")",
      R"({"type":5})",
      R"({"type":null})",
      R"({"payload":{}})",
      R"({"type":"\ud800"})",
      "{\"type\":\"\xff\xfe\"}",
      std::string("{\"type\":\"connection_ack\"\0}", 27),
      deep,
      R"({"type":"connection_ack","payload":)" + deep, // cut short
  };
  for (const auto subprotocol : {"graphql-transport-ws", "graphql-ws"}) {
    for (const auto &input : inputs) {
      for (const bool after_ack : {false, true}) {
        INFO(subprotocol << " after_ack=" << after_ack
                         << " input: " << input.substr(0, 60));
        wsprobe::SessionSettings settings;
        auto session = makeSession(settings);
        RecordingSessionSink sink;
        session->start({.subprotocol = subprotocol, .idle = false},
                       atOffset(0s), sink);
        if (after_ack)
          receive(*session, sink, R"({"type":"connection_ack"})", 1ms);
        REQUIRE_NOTHROW(
            session->receive(MessageKind::text, input, atOffset(1s), sink));
        REQUIRE_NOTHROW(
            session->receive(MessageKind::binary, input, atOffset(2s), sink));
        if (after_ack) {
          REQUIRE(sink.ended);
          CHECK(sink.ended->first == 1002);
          CHECK_FALSE(sink.refused);
        } else {
          REQUIRE(sink.refused);
          CHECK((sink.refused->first == "malformed" ||
                 sink.refused->first == "unexpected_message"));
          CHECK_FALSE(sink.ready);
        }
        CHECK(sink.data_messages == 0);
      }
    }
  }
}

TEST_CASE("graphql-ws: a deeply nested payload is cut, not followed",
          "[unit]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "graphql-transport-ws", .idle = false},
                 atOffset(0s), sink);
  sink.takeSent();
  REQUIRE_NOTHROW(receive(*session, sink,
                          R"({"type":"ping","payload":)" + deep + "}", 1ms));
  CHECK(sink.sent.size() == 1);
  REQUIRE_NOTHROW(receive(*session, sink,
                          R"({"type":"connection_ack","payload":)" + deep + "}",
                          2ms));
  CHECK(sink.ready);
}

TEST_CASE("graphql-ws: table entry offers both subprotocols, legacy first, and "
          "checks its session keys",
          "[unit]") {
  const auto *entry = wsprobe::findProtocol("graphql-ws");
  REQUIRE(entry);
  CHECK(std::vector<std::string_view>(entry->subprotocols.begin(),
                                      entry->subprotocols.end()) ==
        std::vector<std::string_view>{"graphql-ws", "graphql-transport-ws"});
  CHECK(std::vector<std::string_view>(entry->session_keys.begin(),
                                      entry->session_keys.end()) ==
        std::vector<std::string_view>{"payload", "variables"});
  CHECK(entry->takes_subscribe);
  REQUIRE(entry->check_session_value);
  CHECK(entry->check_session_value("payload", json{{"token", "x"}}).empty());
  CHECK(entry->check_session_value("variables", json::object()).empty());
  CHECK_FALSE(entry->check_session_value("payload", json("token")).empty());
  CHECK_FALSE(entry->check_session_value("variables", json::array()).empty());
}
