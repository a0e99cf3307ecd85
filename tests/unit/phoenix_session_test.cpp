// Transcripts of Phoenix Channels, written from phoenixframework/phoenix:
// the JavaScript client (assets/js/phoenix/socket.js, channel.js,
// serializer.js) and the server's serializers
// (lib/phoenix/socket/serializers/v1_json_serializer.ex, v2_json_serializer.ex).
// No Phoenix server runs here, so these transcripts are the codec's only test.
#include <catch2/catch.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

constexpr std::string_view kV2Url = "/socket/websocket?token=t&vsn=2.0.0";

wsprobe::SessionSettings phoenixSettings(std::string_view url_path, std::vector<std::string> topics = {}) {
  wsprobe::SessionSettings settings;
  settings.url_path = std::string(url_path);
  settings.subscribe = std::move(topics);
  settings.heartbeat_interval = 20s;
  return settings;
}

std::unique_ptr<wsprobe::SessionProtocol> makePhoenix(const wsprobe::SessionSettings& settings) {
  const auto* entry = wsprobe::findProtocol("phoenix");
  REQUIRE(entry);
  return entry->make(settings);
}

}  // namespace

// serializer.js encode(): `let payload = [msg.join_ref, msg.ref, msg.topic,
// msg.event, msg.payload]`; channel.js joins with `new Push(this,
// CHANNEL_EVENTS.join, this.params, ...)` whose ref (socket.makeRef(): "1"
// first) is also the channel's joinRef(). Server, v2_json_serializer.ex:
// replies are `[reply.join_ref, reply.ref, reply.topic, "phx_reply",
// %{status: reply.status, response: reply.payload}]`, broadcasts
// `[nil, nil, msg.topic, msg.event, msg.payload]`, pushes
// `[msg.join_ref, msg.ref, msg.topic, msg.event, msg.payload]`.
TEST_CASE("phoenix: V2 join, ready at the join's ok reply, events on the topic are data", "[unit]") {
  auto settings = phoenixSettings(kV2Url, {"room:lobby"});
  settings.session = {{"params", {{"user", "probe"}}}};
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK_FALSE(sink.ready);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(["1","1","room:lobby","phx_join",{"user":"probe"}])"});

  session->receive(MessageKind::text, R"(["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(100ms), sink);
  CHECK(sink.ready);
  CHECK(sink.data_messages == 0);

  session->receive(MessageKind::text, R"([null,null,"room:lobby","new_msg",{"body":"hi"}])", atOffset(1s),
                   sink);
  session->receive(MessageKind::text, R"(["1",null,"room:lobby","presence_diff",{}])", atOffset(2s), sink);
  CHECK(sink.data_messages == 2);
  // A push of an earlier join (channel.js isMember: "dropping outdated
  // message") and a topic never joined are not data.
  session->receive(MessageKind::text, R"(["7",null,"room:lobby","new_msg",{}])", atOffset(3s), sink);
  session->receive(MessageKind::text, R"([null,null,"room:other","new_msg",{}])", atOffset(3s), sink);
  CHECK(sink.data_messages == 2);
  CHECK_FALSE(sink.refused);
  CHECK_FALSE(sink.ended);
  CHECK(sink.ready_calls == 1);
}

// socket.js sendHeartbeat(): `this.push({topic: "phoenix", event:
// "heartbeat", payload: {}, ref: this.pendingHeartbeatRef})` (no join_ref:
// null in V2); the server (socket.ex handle_in for "phoenix"/"heartbeat")
// "should just emit an OK reply". socket.js ping() times exactly this round
// trip.
TEST_CASE("phoenix: heartbeats every heartbeat interval on simulated time, each reply an app RTT", "[unit]") {
  const auto settings = phoenixSettings(kV2Url);
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.ready);  // no topics: ready at the upgrade
  CHECK(sink.sent.empty());
  REQUIRE(session->nextWake() == atOffset(20s));

  session->tick(atOffset(20s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"([null,"1","phoenix","heartbeat",{}])"});
  session->receive(MessageKind::text, R"([null,"1","phoenix","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(20s + 50ms), sink);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 50ms);
  CHECK(sink.data_messages == 0);  // replies are not data

  REQUIRE(session->nextWake() == atOffset(40s));
  session->tick(atOffset(40s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"([null,"2","phoenix","heartbeat",{}])"});
  // A reply to another ref is no round trip of ours.
  session->receive(MessageKind::text, R"([null,"1","phoenix","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(41s), sink);
  CHECK(sink.app_rtts.size() == 1);
  session->receive(MessageKind::text, R"([null,"2","phoenix","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(42s), sink);
  REQUIRE(sink.app_rtts.size() == 2);
  CHECK(sink.app_rtts[1] == 2s);
}

// socket.js: `this.heartbeatIntervalMs = opts.heartbeatIntervalMs || 30000`;
// the server's websocket transport times out after 60_000 ms of silence.
TEST_CASE("phoenix: the idle connection joins nothing and sends only the 30 s keepalive heartbeat",
          "[unit]") {
  const auto settings = phoenixSettings(kV2Url, {"room:lobby"});
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
  REQUIRE(session->nextWake() == atOffset(30s));
  session->tick(atOffset(29s), sink);
  CHECK(sink.sent.empty());
  session->tick(atOffset(30s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"([null,"1","phoenix","heartbeat",{}])"});
  session->receive(MessageKind::text, R"([null,"1","phoenix","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(30s + 10ms), sink);
  CHECK(session->nextWake() == atOffset(60s));
  // Broadcasts of a topic the idle connection never joined are not data.
  session->receive(MessageKind::text, R"([null,null,"room:lobby","new_msg",{}])", atOffset(31s), sink);
  CHECK(sink.data_messages == 0);
}

TEST_CASE("phoenix: session key heartbeat_interval sets the keepalive, capping longer heartbeat intervals",
          "[unit]") {
  auto settings = phoenixSettings(kV2Url);
  settings.session = {{"heartbeat_interval", "10s"}};
  settings.heartbeat_interval = 60s;
  auto heartbeat = makePhoenix(settings);
  auto idle = makePhoenix(settings);
  RecordingSessionSink sink;
  heartbeat->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  idle->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  CHECK(heartbeat->nextWake() == atOffset(10s));
  CHECK(idle->nextWake() == atOffset(10s));
}

// socket.js heartbeatTimeout(): a heartbeat unanswered when the next one is
// due closes the socket (WS_CLOSE_NORMAL, "heartbeat timeout") and reconnects.
TEST_CASE("phoenix: a heartbeat unanswered for the keepalive interval ends the session", "[unit]") {
  const auto settings = phoenixSettings(kV2Url);
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->tick(atOffset(20s), sink);
  CHECK(sink.takeSent().size() == 1);
  // No second heartbeat while one is in flight.
  REQUIRE(session->nextWake() == atOffset(50s));
  session->tick(atOffset(49s), sink);
  CHECK(sink.sent.empty());
  CHECK_FALSE(sink.ended);
  session->tick(atOffset(50s), sink);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1000);
  CHECK_THAT(sink.ended->second, Catch::Contains("heartbeat timeout"));
  CHECK_FALSE(session->nextWake());
}

// channel.js: `this.joinPush.receive("error", ...)`; a channel's join/3 that
// returns {:error, %{reason: "unauthorized"}} is replied with status "error"
// and that response.
TEST_CASE("phoenix: a refused join refuses the session with the reply's reason", "[unit]") {
  const auto settings = phoenixSettings(kV2Url, {"room:secret"});
  SECTION("a short token reason is the status") {
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(
        MessageKind::text,
        R"(["1","1","room:secret","phx_reply",{"status":"error","response":{"reason":"unauthorized"}}])",
        atOffset(100ms), sink);
    CHECK_FALSE(sink.ready);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "unauthorized");
    CHECK_THAT(sink.refused->second, Catch::Contains("room:secret"));
    CHECK_FALSE(session->nextWake());
  }
  SECTION("free text is join_error, kept in the detail") {
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(
        MessageKind::text,
        R"(["1","1","room:secret","phx_reply",{"status":"error","response":{"reason":"No such room!"}}])",
        atOffset(100ms), sink);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "join_error");
    CHECK_THAT(sink.refused->second, Catch::Contains("No such room!"));
  }
  SECTION("phx_error while joining") {
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, R"(["1","1","room:secret","phx_error",{}])", atOffset(100ms), sink);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "join_error");
  }
}

// channel.js onError / onClose: the server sends phx_error when the channel
// process crashes and phx_close when it stops.
TEST_CASE("phoenix: phx_error or phx_close on a joined topic ends the session", "[unit]") {
  for (const std::string event : {"phx_error", "phx_close"}) {
    const auto settings = phoenixSettings(kV2Url, {"room:lobby", "prices"});
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    CHECK(sink.takeSent() == std::vector<std::string>{R"(["1","1","room:lobby","phx_join",{}])",
                                                      R"(["2","2","prices","phx_join",{}])"});
    // The second topic answers first: ready at the first ok.
    session->receive(MessageKind::text, R"(["2","2","prices","phx_reply",{"status":"ok","response":{}}])",
                     atOffset(50ms), sink);
    CHECK(sink.ready);
    session->receive(MessageKind::text, R"(["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}])",
                     atOffset(60ms), sink);
    session->receive(MessageKind::text, R"([null,null,"prices","tick",{"p":1}])", atOffset(1s), sink);
    CHECK(sink.data_messages == 1);
    session->receive(MessageKind::text, "[\"1\",\"1\",\"room:lobby\",\"" + event + "\",{}]", atOffset(2s),
                     sink);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1000);
    CHECK_THAT(sink.ended->second, Catch::Contains(event));
    CHECK_FALSE(sink.refused);
    // Nothing counts after the end.
    session->receive(MessageKind::text, R"([null,null,"prices","tick",{"p":1}])", atOffset(3s), sink);
    CHECK(sink.data_messages == 1);
  }
}

TEST_CASE("phoenix: a join refused after the session is ready ends it", "[unit]") {
  const auto settings = phoenixSettings(kV2Url, {"room:lobby", "room:secret"});
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}])",
                   atOffset(50ms), sink);
  session->receive(
      MessageKind::text,
      R"(["2","2","room:secret","phx_reply",{"status":"error","response":{"reason":"unauthorized"}}])",
      atOffset(60ms), sink);
  CHECK(sink.ready);
  CHECK_FALSE(sink.refused);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1000);
}

// v1_json_serializer.ex: messages are maps of topic, event, payload and ref;
// socket.ex negotiates the serializer from `params["vsn"] || "1.0.0"`, so a
// URL without vsn speaks V1.
TEST_CASE("phoenix: V1 objects when the URL asks for vsn 1 or names no vsn", "[unit]") {
  for (const std::string_view url : {"/socket/websocket?vsn=1.0.0", "/socket/websocket"}) {
    auto settings = phoenixSettings(url, {"room:lobby"});
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    CHECK(sink.takeSent() ==
          std::vector<std::string>{
              R"({"event":"phx_join","join_ref":"1","payload":{},"ref":"1","topic":"room:lobby"})"});
    session->receive(
        MessageKind::text,
        R"({"topic":"room:lobby","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"})",
        atOffset(10ms), sink);
    CHECK(sink.ready);
    session->receive(MessageKind::text, R"({"topic":"room:lobby","event":"new_msg","payload":{},"ref":null})",
                     atOffset(1s), sink);
    CHECK(sink.data_messages == 1);
    session->tick(atOffset(20s), sink);
    CHECK(sink.takeSent() ==
          std::vector<std::string>{R"({"event":"heartbeat","payload":{},"ref":"2","topic":"phoenix"})"});
    session->receive(
        MessageKind::text,
        R"({"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"2"})",
        atOffset(20s + 5ms), sink);
    REQUIRE(sink.app_rtts.size() == 1);
    CHECK(sink.app_rtts[0] == 5ms);
  }
}

// v2_json_serializer.ex fastlane!/encode! with {:binary, data}: broadcast
// <<2, topic_size, event_size, topic, event, data>>, push <<0, join_ref_size,
// topic_size, event_size, join_ref, topic, event, data>>, reply <<1,
// join_ref_size, ref_size, topic_size, status_size, join_ref, ref, topic,
// status, data>>.
TEST_CASE("phoenix: V2 binary broadcasts, pushes and replies", "[unit]") {
  const auto settings = phoenixSettings(kV2Url, {"room:lobby"});
  auto session = makePhoenix(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  using namespace std::string_literals;
  session->receive(MessageKind::binary,
                   "\x01\x01\x01\x0a\x02"
                   "11room:lobbyok\xff\x00"s,
                   atOffset(10ms), sink);
  CHECK(sink.ready);
  session->receive(MessageKind::binary, "\x02\x0a\x04room:lobbyblob\x01\x02\x03"s, atOffset(1s), sink);
  session->receive(MessageKind::binary,
                   "\x00\x01\x0a\x04"
                   "1room:lobbyblob\x01"s,
                   atOffset(2s), sink);
  CHECK(sink.data_messages == 2);
  // A frame shorter than its sizes say is not Phoenix.
  session->receive(MessageKind::binary, "\x02\x0a\x04room"s, atOffset(3s), sink);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1002);
}

TEST_CASE("phoenix: what is not Phoenix refuses or ends the session, and never throws", "[unit]") {
  SECTION("before ready") {
    const auto settings = phoenixSettings(kV2Url, {"room:lobby"});
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, "hello", atOffset(10ms), sink);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "protocol_error");
  }
  SECTION("after ready") {
    const auto settings = phoenixSettings(kV2Url);
    for (const std::string_view bad :
         {"", "[]", "null", "42", "[1,2,3,4,5]", "[null,null,\"t\"]", R"({"topic":1,"event":"x"})",
          "{\"topic\":\"t\"}", "[null,null,\"t\",\"e\",{}", "\xc3\x28", "[[[[[[[[[[[[[[[[[[[[[[[[]]]]"}) {
      auto session = makePhoenix(settings);
      RecordingSessionSink sink;
      session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
      CHECK_NOTHROW(session->receive(MessageKind::text, bad, atOffset(1s), sink));
      REQUIRE(sink.ended);
      CHECK(sink.ended->first == 1002);
    }
  }
  SECTION("odd but well-formed messages are ignored") {
    const auto settings = phoenixSettings(kV2Url, {"room:lobby"});
    auto session = makePhoenix(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    for (const std::string_view odd :
         {R"([null,"99999999999999999999","room:lobby","phx_reply",{}])",
          R"([1.5,{},"room:lobby","phx_reply",7])", R"(["1","1","room:lobby","phx_reply","ok"])",
          R"([null,"1","room:lobby","phx_reply",{"status":7}])",
          R"([null,"0","room:lobby","phx_reply",{"status":"ok"}])"}) {
      CHECK_NOTHROW(session->receive(MessageKind::text, odd, atOffset(1s), sink));
    }
    CHECK_FALSE(sink.ready);
    CHECK_FALSE(sink.refused);
    CHECK(sink.data_messages == 0);
  }
}

TEST_CASE("phoenix: session values are checked", "[unit]") {
  const auto* entry = wsprobe::findProtocol("phoenix");
  REQUIRE(entry);
  REQUIRE(entry->check_session_value);
  CHECK(entry->check_session_value("params", nlohmann::json::object()) == "");
  CHECK(entry->check_session_value("params", "token") != "");
  CHECK(entry->check_session_value("heartbeat_interval", "30s") == "");
  CHECK(entry->check_session_value("heartbeat_interval", "1m30s") == "");
  CHECK(entry->check_session_value("heartbeat_interval", "30") != "");
  CHECK(entry->check_session_value("heartbeat_interval", "0s") != "");
  CHECK(entry->check_session_value("heartbeat_interval", 30) != "");
  CHECK(entry->subprotocols.empty());
  CHECK(entry->session_keys.size() == 2);
}
