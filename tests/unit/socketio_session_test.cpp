// Transcripts written from the socket.io-protocol (v5) and engine.io-protocol
// (v3, v4) documents: what the server sends, what the official client answers.
#include "probes/protocols/socketio_session.h"

#include <catch2/catch.hpp>
#include <random>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

constexpr std::string_view kOpenV4 =
    R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})";
constexpr std::string_view kOpenV3 =
    R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":1000,"pingTimeout":500})";
constexpr const char* kUrlV4 = "/socket.io/?EIO=4&transport=websocket";
constexpr const char* kUrlV3 = "/socket.io/?EIO=3&transport=websocket";

wsprobe::SessionSettings settingsFor(const char* url_path, nlohmann::json session = nlohmann::json::object(),
                                     std::vector<std::string> subscribe = {}) {
  wsprobe::SessionSettings settings;
  settings.url_path = url_path;
  settings.session = std::move(session);
  settings.subscribe = std::move(subscribe);
  settings.heartbeat_interval = 5s;
  return settings;
}

std::unique_ptr<wsprobe::SessionProtocol> makeSession(const wsprobe::SessionSettings& settings) {
  const auto* entry = wsprobe::findProtocol("socketio");
  REQUIRE(entry);
  return entry->make(settings);
}

// A v4 session past its handshake at `at`, with what it sent forgotten.
std::unique_ptr<wsprobe::SessionProtocol> readySession(const wsprobe::SessionSettings& settings,
                                                       RecordingSessionSink& sink, bool idle = false,
                                                       wsprobe::Duration at = 0s) {
  auto session = makeSession(settings);
  session->start({.subprotocol = "", .idle = idle}, atOffset(at), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(at), sink);
  const auto nsp = settings.session.value("namespace", std::string("/"));
  session->receive(MessageKind::text, nsp == "/" ? R"(40{"sid":"s1"})" : "40" + nsp + R"(,{"sid":"s1"})",
                   atOffset(at), sink);
  REQUIRE(sink.ready);
  sink.sent.clear();
  sink.app_rtts.clear();  // the CONNECT's round trip
  return session;
}

}  // namespace

TEST_CASE("socketio v4: open, CONNECT, ready on the server's CONNECT", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.sent.empty());  // the server speaks first
  session->receive(MessageKind::text, kOpenV4, atOffset(10ms), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"40"});
  CHECK_FALSE(sink.ready);
  session->receive(MessageKind::text, R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})", atOffset(25ms), sink);
  CHECK(sink.ready);
  CHECK(sink.ready_calls == 1);
  // The CONNECT's round trip through the server's namespace is an app RTT.
  CHECK(sink.app_rtts == std::vector<wsprobe::Duration>{15ms});
  CHECK_FALSE(session->nextWake());  // v4 without ack_event: the server drives keepalives
  CHECK_FALSE(sink.refused);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("socketio v4: auth and namespace go in the CONNECT, ready only for that namespace", "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"auth", {{"token", "abc"}}}, {"namespace", "/admin"}});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(40/admin,{"token":"abc"})"});
  session->receive(MessageKind::text, R"(40{"sid":"other"})", atOffset(1ms), sink);
  CHECK_FALSE(sink.ready);
  session->receive(MessageKind::text, R"(40/admin,{"sid":"wZX3oN0bSVIhsaknAAAI"})", atOffset(2ms), sink);
  CHECK(sink.ready);
}

TEST_CASE("socketio v4: the default namespace's CONNECT carries the auth object", "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"auth", {{"token", "abc"}, {"n", 1}}}});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(40{"n":1,"token":"abc"})"});
}

TEST_CASE("socketio v4: server pings are answered with pongs, and are neither data nor RTT", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  RecordingSessionSink sink;
  auto session = readySession(settings, sink);
  session->receive(MessageKind::text, "2", atOffset(25s), sink);
  session->receive(MessageKind::text, "2probe", atOffset(50s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"3", "3probe"});
  session->receive(MessageKind::text, "6", atOffset(51s), sink);  // noop
  CHECK(sink.data_messages == 0);
  CHECK(sink.app_rtts.empty());
  CHECK_FALSE(sink.ended);
}

TEST_CASE("socketio v4: pings before the session is ready are answered too", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  session->receive(MessageKind::text, "2", atOffset(1s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"40", "3"});
}

TEST_CASE("socketio v4: a CONNECT_ERROR refuses the session with status connect_error", "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"auth", {{"token", "bad"}}}});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(44{"message":"Not authorized","data":{"code":4403}})", atOffset(5ms),
                   sink);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "connect_error");
  CHECK_THAT(sink.refused->second, Catch::Contains("Not authorized"));
  CHECK_FALSE(sink.ready);
  // Whatever comes after is not looked at.
  session->receive(MessageKind::text, R"(40{"sid":"late"})", atOffset(6ms), sink);
  session->receive(MessageKind::text, "2", atOffset(7ms), sink);
  CHECK_FALSE(sink.ready);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(40{"token":"bad"})"});
  CHECK_FALSE(session->nextWake());
}

TEST_CASE("socketio: DISCONNECT after ready ends the session, before ready refuses it", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  {
    RecordingSessionSink sink;
    auto session = readySession(settings, sink);
    session->receive(MessageKind::text, "41/other,", atOffset(1s), sink);  // not ours
    CHECK_FALSE(sink.ended);
    session->receive(MessageKind::text, "41", atOffset(2s), sink);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1000);
    CHECK_FALSE(sink.refused);
  }
  {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
    session->receive(MessageKind::text, "41", atOffset(1s), sink);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "disconnect");
    CHECK_FALSE(sink.ended);
  }
  {
    RecordingSessionSink sink;
    auto session = readySession(settings, sink);
    session->receive(MessageKind::text, "1", atOffset(1s), sink);  // Engine.IO close
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1000);
  }
}

TEST_CASE("socketio v3: the client pings every pingInterval and the pong is an app RTT", "[unit]") {
  const auto settings = settingsFor(kUrlV3);
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK_FALSE(session->nextWake());
  session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
  CHECK(sink.sent.empty());  // v3: the server joins the default namespace by itself
  REQUIRE(session->nextWake() == atOffset(1s));
  session->receive(MessageKind::text, "40", atOffset(5ms), sink);
  CHECK(sink.ready);
  session->tick(atOffset(1s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"2"});
  CHECK(session->nextWake() == atOffset(2s));
  session->receive(MessageKind::text, "3", atOffset(1250ms), sink);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 250ms);
  // A duplicate pong measures nothing.
  session->receive(MessageKind::text, "3", atOffset(1300ms), sink);
  CHECK(sink.app_rtts.size() == 1);
  // A tick before the time sends nothing.
  session->tick(atOffset(1900ms), sink);
  CHECK(sink.sent.empty());
  session->tick(atOffset(2s), sink);
  session->receive(MessageKind::text, "3", atOffset(2010ms), sink);
  REQUIRE(sink.app_rtts.size() == 2);
  CHECK(sink.app_rtts[1] == 10ms);
}

TEST_CASE("socketio v3: a late pong is not taken for the next ping's", "[unit]") {
  const auto settings = settingsFor(kUrlV3);
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
  session->receive(MessageKind::text, "40", atOffset(0s), sink);
  session->tick(atOffset(1s), sink);  // unanswered
  session->tick(atOffset(2s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"2", "2"});
  session->receive(MessageKind::text, "3", atOffset(2100ms), sink);  // the first ping's
  CHECK(sink.app_rtts.empty());
  session->receive(MessageKind::text, "3", atOffset(2300ms), sink);  // the second's
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 300ms);
}

TEST_CASE("socketio v3: a namespace is asked for with the auth as its query", "[unit]") {
  const auto settings = settingsFor(kUrlV3, {{"namespace", "/admin"}, {"auth", {{"token", "a b&c"}}}});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"40/admin?token=a%20b%26c,"});
  session->receive(MessageKind::text, "40", atOffset(1ms), sink);  // the default namespace
  CHECK_FALSE(sink.ready);
  session->receive(MessageKind::text, "40/admin,", atOffset(2ms), sink);
  CHECK(sink.ready);
  CHECK(sink.app_rtts == std::vector<wsprobe::Duration>{2ms});  // the namespace CONNECT's
}

TEST_CASE("socketio v3: a CONNECT_ERROR with a string payload refuses the session", "[unit]") {
  const auto settings = settingsFor(kUrlV3);
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(44"Not authorized")", atOffset(1ms), sink);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "connect_error");
  CHECK_THAT(sink.refused->second, Catch::Contains("Not authorized"));
  CHECK_FALSE(session->nextWake());
}

TEST_CASE("socketio v3: the idle connection pings too (the server requires it) and sends nothing else",
          "[unit]") {
  const auto settings =
      settingsFor(kUrlV3, {{"ack_event", "rtt"}, {"subscribe_event", "subscribe"}}, {"prices"});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
  session->receive(MessageKind::text, "40", atOffset(0s), sink);
  CHECK(sink.ready);
  CHECK(session->nextWake() == atOffset(1s));
  session->tick(atOffset(1s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"2"});
}

TEST_CASE("socketio: ack_event is emitted every heartbeat_interval and its acknowledgement is an app RTT",
          "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"ack_event", "rtt"}});
  RecordingSessionSink sink;
  auto session = readySession(settings, sink, false, 1s);
  // The first goes as soon as the session is ready (readySession forgot it).
  REQUIRE(session->nextWake() == atOffset(6s));
  session->receive(MessageKind::text, R"(430[])", atOffset(1040ms), sink);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 40ms);
  CHECK(sink.data_messages == 0);  // an acknowledgement is not data
  session->tick(atOffset(6s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(421["rtt"])"});
  session->receive(MessageKind::text, R"(430[])", atOffset(6010ms), sink);  // an old id
  session->receive(MessageKind::text, R"(437[])", atOffset(6020ms), sink);  // an unknown id
  CHECK(sink.app_rtts.size() == 1);
  session->receive(MessageKind::text, R"(431["pong",{"t":1}])", atOffset(6500ms), sink);
  REQUIRE(sink.app_rtts.size() == 2);
  CHECK(sink.app_rtts[1] == 500ms);
  CHECK(session->nextWake() == atOffset(11s));
}

TEST_CASE("socketio: an unanswered ack_event is given up on at the next one", "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"ack_event", "rtt"}, {"namespace", "/live"}});
  RecordingSessionSink sink;
  auto session = makeSession(settings);
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(40/live,{"sid":"x"})", atOffset(0s), sink);
  CHECK(sink.app_rtts == std::vector<wsprobe::Duration>{0ms});  // the CONNECT's
  sink.app_rtts.clear();
  session->tick(atOffset(5s), sink);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{"40/live,", R"(42/live,0["rtt"])", R"(42/live,1["rtt"])"});
  session->receive(MessageKind::text, R"(43/live,0[])", atOffset(5100ms), sink);
  CHECK(sink.app_rtts.empty());
  session->receive(MessageKind::text, R"(43/live,1[])", atOffset(5200ms), sink);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 200ms);
}

TEST_CASE("socketio: events named in subscribe are data, others, acks and other namespaces are not",
          "[unit]") {
  const auto settings = settingsFor(kUrlV4, nlohmann::json::object(), {"prices", "news"});
  RecordingSessionSink sink;
  auto session = readySession(settings, sink);
  CHECK(sink.sent.empty());  // without subscribe_event nothing is sent to subscribe
  session->receive(MessageKind::text, R"(42["prices",{"EURUSD":1.08}])", atOffset(1s), sink);
  session->receive(MessageKind::text, R"(42["chat","hello"])", atOffset(2s), sink);
  session->receive(MessageKind::text, R"(4212["news","x"])", atOffset(3s), sink);  // asks for an ack
  session->receive(MessageKind::text, R"(42/other,["prices",1])", atOffset(4s), sink);
  session->receive(MessageKind::text, R"(451-["prices",{"_placeholder":true,"num":0}])", atOffset(5s), sink);
  session->receive(MessageKind::binary, std::string_view("\x01\x02\x03", 3), atOffset(5s), sink);
  session->receive(MessageKind::text, R"(43[])", atOffset(6s), sink);
  CHECK(sink.data_messages == 3);
  CHECK(sink.sent.empty());
  CHECK_FALSE(sink.ended);
}

TEST_CASE("socketio: without subscribe every event is data", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  RecordingSessionSink sink;
  auto session = readySession(settings, sink);
  session->receive(MessageKind::text, R"(42["a"])", atOffset(1s), sink);
  session->receive(MessageKind::text, R"(42["b",1,2,3])", atOffset(2s), sink);
  session->receive(MessageKind::text,
                   R"(452-["c",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", atOffset(3s),
                   sink);
  CHECK(sink.data_messages == 3);
}

TEST_CASE("socketio: subscribe_event emits one subscription per item and every event is data", "[unit]") {
  const auto settings = settingsFor(kUrlV4, {{"subscribe_event", "subscribe"}, {"namespace", "/feed"}},
                                    {"prices", "say \"hi\""});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(40/feed,{"sid":"x"})", atOffset(0s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"40/feed,", R"(42/feed,["subscribe","prices"])",
                                                    R"(42/feed,["subscribe","say \"hi\""])"});
  session->receive(MessageKind::text, R"(42/feed,["tick",1])", atOffset(1s), sink);
  session->receive(MessageKind::text, R"(42/feed,["other"])", atOffset(2s), sink);
  CHECK(sink.data_messages == 2);
}

TEST_CASE("socketio: the idle connection connects, answers pings and sends nothing else", "[unit]") {
  const auto settings =
      settingsFor(kUrlV4, {{"ack_event", "rtt"}, {"subscribe_event", "subscribe"}}, {"prices"});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(40{"sid":"x"})", atOffset(0s), sink);
  CHECK(sink.ready);
  CHECK_FALSE(session->nextWake());
  session->tick(atOffset(30s), sink);
  session->receive(MessageKind::text, "2", atOffset(25s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"40", "3"});
}

TEST_CASE("socketio: malformed input refuses the session before ready", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  for (const std::string_view bad :
       {std::string_view(""), std::string_view("0"), std::string_view("0{"), std::string_view("0[]"),
        std::string_view("x"), std::string_view("48"), std::string_view("4"), std::string_view("40[1]")}) {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    if (!bad.starts_with("0")) session->receive(MessageKind::text, kOpenV4, atOffset(0s), sink);
    session->receive(MessageKind::text, bad, atOffset(1s), sink);
    INFO("input: " << bad);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "invalid_packet");
    CHECK_FALSE(sink.ready);
  }
}

TEST_CASE("socketio: malformed input after ready ends the session with 1002", "[unit]") {
  const auto settings = settingsFor(kUrlV4);
  for (const std::string_view bad :
       {std::string_view("42notjson"), std::string_view(R"(42{"a":1})"), std::string_view("42[]"),
        std::string_view("42[{}]"), std::string_view("45-[\"a\"]"), std::string_view("45x-[\"a\"]"),
        std::string_view("9"), std::string_view("4"), std::string_view("47"),
        std::string_view("4299999999999999999999999[\"a\"]")}) {
    RecordingSessionSink sink;
    auto session = readySession(settings, sink);
    session->receive(MessageKind::text, bad, atOffset(1s), sink);
    INFO("input: " << bad);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1002);
    CHECK(sink.data_messages == 0);
  }
}

TEST_CASE("socketio: arbitrary bytes never throw out of the codec", "[unit]") {
  const auto settings = settingsFor(kUrlV3, {{"ack_event", "rtt"}, {"namespace", "/n"}}, {"a"});
  std::mt19937 random(8);
  const std::string alphabet = "0123456789/,[]{}\"-:ab\xff\x80";
  for (int round = 0; round < 300; ++round) {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, kOpenV3, atOffset(0s), sink);
    session->receive(MessageKind::text, "40/n,", atOffset(0s), sink);
    for (int message = 0; message < 20; ++message) {
      std::string text = message % 2 ? "4" : "";
      const auto length = random() % 24;
      for (std::size_t i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
      CHECK_NOTHROW(session->receive(MessageKind::text, text, atOffset(std::chrono::seconds(message)), sink));
      CHECK_NOTHROW(session->tick(atOffset(std::chrono::seconds(message)), sink));
    }
  }
}

TEST_CASE("socketio: session values are checked", "[unit]") {
  const auto* entry = wsprobe::findProtocol("socketio");
  REQUIRE(entry);
  REQUIRE(entry->check_session_value);
  struct Case {
    const char* key;
    nlohmann::json value;
    bool fine;
  };
  const std::vector<Case> cases = {
      {"auth", {{"token", "x"}}, true},
      {"auth", "token", false},
      {"namespace", "/", true},
      {"namespace", "/admin", true},
      {"namespace", "admin", false},
      {"namespace", "/a,b", false},
      {"namespace", 3, false},
      {"ack_event", "rtt", true},
      {"ack_event", "", false},
      {"ack_event", "disconnect", false},
      {"subscribe_event", "subscribe", true},
      {"subscribe_event", true, false},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value.dump());
    CHECK(entry->check_session_value(c.key, c.value).empty() == c.fine);
  }
  std::vector<std::string_view> keys(entry->session_keys.begin(), entry->session_keys.end());
  CHECK(keys == std::vector<std::string_view>{"auth", "namespace", "ack_event", "subscribe_event"});
  CHECK(entry->takes_subscribe);
  CHECK(entry->subprotocols.empty());
}

TEST_CASE("socketio: a connection's codec stays small", "[unit]") {
  // The bench holds 10,000 of them; everything shared is in SessionSettings.
  CHECK(wsprobe::socketioSessionSize() <= 80);
}

TEST_CASE("socketio: the upgrade path gets what the official client adds", "[unit]") {
  struct Case {
    const char* configured;
    const char* upgraded;
  };
  for (const auto& c :
       {Case{"/socket.io/?EIO=4&transport=websocket", "/socket.io/?EIO=4&transport=websocket"},
        Case{"/socket.io/?EIO=3&transport=websocket", "/socket.io/?EIO=3&transport=websocket"},
        Case{"/socket.io/", "/socket.io/?EIO=4&transport=websocket"},
        Case{"/", "/socket.io/?EIO=4&transport=websocket"}, Case{"", "/socket.io/?EIO=4&transport=websocket"},
        Case{"/chat/socket.io/?token=x", "/chat/socket.io/?token=x&EIO=4&transport=websocket"},
        Case{"/socket.io/?EIO=3", "/socket.io/?EIO=3&transport=websocket"}}) {
    CHECK(wsprobe::socketioUpgradePath(c.configured) == c.upgraded);
  }
}

TEST_CASE("socketio v3: a CONNECT before the open packet starts no pings until the open packet", "[unit]") {
  // Found by fuzz/session_protocol_fuzzer: pings without a pingInterval made
  // nextWake() stay due.
  const auto settings = settingsFor(kUrlV3, {{"namespace", "/chat"}});
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  session->receive(MessageKind::text, "40/chat,", atOffset(100ms), sink);
  CHECK(sink.ready);
  CHECK_FALSE(session->nextWake());
  session->receive(MessageKind::text, kOpenV3, atOffset(200ms), sink);
  CHECK(session->nextWake() == atOffset(1200ms));
  session->tick(atOffset(1200ms), sink);
  CHECK(session->nextWake() == atOffset(2200ms));
}
