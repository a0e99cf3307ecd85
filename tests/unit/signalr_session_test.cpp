// Transcripts of the ASP.NET Core SignalR JSON hub protocol, written from
// dotnet/aspnetcore's src/SignalR/docs/specs/HubProtocol.md (quoted beside
// each) and TransportProtocols.md. No SignalR server runs here, so these
// transcripts are the codec's only test. <RS> is the record separator 0x1E.
#include <catch2/catch.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

// A record as it goes over the wire: JSON then <RS>.
std::string rec(std::string_view json) { return std::string(json) + '\x1e'; }

const std::string kHandshake = rec(R"({"protocol":"json","version":1})");
const std::string kPing = rec(R"({"type":6})");

wsprobe::SessionSettings signalrSettings(nlohmann::json session = nlohmann::json::object(),
                                         std::vector<std::string> subscribe = {}) {
  wsprobe::SessionSettings settings;
  settings.url_path = "/chathub";
  settings.session = std::move(session);
  settings.subscribe = std::move(subscribe);
  settings.heartbeat_interval = 5s;
  return settings;
}

std::unique_ptr<wsprobe::SessionProtocol> makeSignalr(const wsprobe::SessionSettings& settings) {
  const auto* entry = wsprobe::findProtocol("signalr");
  REQUIRE(entry);
  return entry->make(settings);
}

// Starts a session and completes its handshake at `at`; the sink keeps what
// was sent after the handshake request.
void handshake(wsprobe::SessionProtocol& session, RecordingSessionSink& sink, bool idle = false,
               wsprobe::TimePoint at = atOffset(10ms)) {
  session.start({.subprotocol = "", .idle = idle}, atOffset(0s), sink);
  REQUIRE(sink.takeSent() == std::vector<std::string>{kHandshake});
  session.receive(MessageKind::text, rec("{}"), at, sink);
  REQUIRE(sink.ready);
}

}  // namespace

// HubProtocol.md, Overview: "After opening a connection to the server the
// client must send a HandshakeRequest message ... The server will reply with a
// HandshakeResponse ... containing an error if the server does not support the
// protocol ... Both ... must be terminated by the ASCII character 0x1E".
// Example response: {"error": "Requested protocol 'messagepack' is not available."}
TEST_CASE("signalr: handshake request, an empty response makes the session ready", "[unit]") {
  const auto settings = signalrSettings();
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{kHandshake});
  CHECK(sink.sent.empty());
  CHECK_FALSE(sink.ready);
  // The response and the server's first ping in one WebSocket message.
  session->receive(MessageKind::text, rec("{}") + kPing, atOffset(20ms), sink);
  CHECK(sink.ready);
  // The JavaScript client pings once right after the handshake.
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  CHECK(sink.data_messages == 0);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("signalr: a handshake error refuses the session", "[unit]") {
  const auto settings = signalrSettings();
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, rec(R"({"error":"Requested protocol 'json' is not available."})"),
                   atOffset(20ms), sink);
  CHECK_FALSE(sink.ready);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "handshake_error");
  CHECK_THAT(sink.refused->second, Catch::Contains("not available"));
  CHECK_FALSE(session->nextWake());
}

// HubProtocol.md, "Close Message Encoding": {"type": 7, "error": "Connection
// closed because of an error!", "allowReconnect": true}.
TEST_CASE("signalr: a Close message ends the session, and refuses it before the handshake response",
          "[unit]") {
  SECTION("after ready") {
    const auto settings = signalrSettings();
    auto session = makeSignalr(settings);
    RecordingSessionSink sink;
    handshake(*session, sink);
    session->receive(
        MessageKind::text,
        rec(R"({"type":7,"error":"Connection closed because of an error!","allowReconnect":true})"),
        atOffset(1s), sink);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1000);
    CHECK_THAT(sink.ended->second,
               Catch::Contains("because of an error") && Catch::Contains("reconnect allowed"));
    CHECK_FALSE(sink.refused);
  }
  SECTION("before the handshake response") {
    const auto settings = signalrSettings();
    auto session = makeSignalr(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, rec(R"({"type":7,"error":"Unauthorized"})"), atOffset(1s), sink);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "close");
    CHECK_FALSE(sink.ended);
  }
}

// HubProtocol.md, "Ping (aka Keep Alive)": "Either endpoint may send a Ping
// message at any time. The receiving endpoint may choose to ignore the
// message, it has no obligation to respond ... A Ping is only sent if the
// interval has elapsed without a message being sent." The JavaScript client:
// keepAliveIntervalInMilliseconds 15 s, serverTimeoutInMilliseconds 30 s
// ("Server timeout elapsed without receiving a message from the server.").
TEST_CASE("signalr: keepalive pings every 15 s of silence, server pings unanswered, server timeout ends",
          "[unit]") {
  const auto settings = signalrSettings();
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/true, atOffset(0s));
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  REQUIRE(session->nextWake() == atOffset(15s));
  session->receive(MessageKind::text, kPing, atOffset(14s), sink);
  CHECK(sink.sent.empty());  // not answered
  session->tick(atOffset(15s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  REQUIRE(session->nextWake() == atOffset(30s));
  session->receive(MessageKind::text, kPing, atOffset(29s), sink);
  session->tick(atOffset(30s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  CHECK_FALSE(sink.ended);
  // The server falls silent after its ping at 29 s: ended 30 s later.
  session->tick(atOffset(45s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  REQUIRE(session->nextWake() == atOffset(59s));
  session->tick(atOffset(59s), sink);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1000);
  CHECK_THAT(sink.ended->second, Catch::Contains("server timeout"));
  CHECK(sink.sent.empty());
  CHECK(sink.data_messages == 0);
  CHECK(sink.app_rtts.empty());
}

TEST_CASE("signalr: keepalive_interval and server_timeout session keys", "[unit]") {
  const auto settings = signalrSettings({{"keepalive_interval", "2s"}, {"server_timeout", "5s"}});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/true, atOffset(0s));
  CHECK(session->nextWake() == atOffset(2s));
  session->tick(atOffset(2s), sink);
  session->tick(atOffset(4s), sink);
  CHECK(sink.sent.size() == 3);
  CHECK(session->nextWake() == atOffset(5s));
  session->tick(atOffset(5s), sink);
  CHECK(sink.ended);
}

// HubProtocol.md, "Single Result": C->S: Invocation { Id = 42, Target = "Add",
// Arguments = [ 40, 2 ] }  S->C: Completion { Id = 42, Result = 42 }; JSON:
// {"type": 1, "invocationId": "123", "target": "Send", "arguments": [...]} and
// {"type": 3, "invocationId": "123", "result": 42}.
TEST_CASE("signalr: on heartbeat connections the invoke method's Completion is the app RTT", "[unit]") {
  const auto settings = signalrSettings({{"invoke", "Add"}, {"invoke_arguments", {40, 2}}});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/false, atOffset(0s));
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  REQUIRE(session->nextWake() == atOffset(5s));
  session->tick(atOffset(5s), sink);
  // The invocation is traffic: no ping is due at 15 s after it.
  CHECK(sink.takeSent() ==
        std::vector<std::string>{rec(R"({"arguments":[40,2],"invocationId":"0","target":"Add","type":1})")});
  session->receive(MessageKind::text, rec(R"({"type":3,"invocationId":"0","result":42})"),
                   atOffset(5s + 30ms), sink);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 30ms);
  CHECK(sink.data_messages == 0);

  session->tick(atOffset(10s), sink);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{rec(R"({"arguments":[40,2],"invocationId":"1","target":"Add","type":1})")});
  // "Single Result with Error": the server answered; the round trip counts.
  session->receive(MessageKind::text, rec(R"({"type":3,"invocationId":"1","error":"It didn't work!"})"),
                   atOffset(10s + 40ms), sink);
  REQUIRE(sink.app_rtts.size() == 2);
  CHECK(sink.app_rtts[1] == 40ms);
  // A Completion of an id never sent, or sent again, is no round trip.
  session->receive(MessageKind::text, rec(R"({"type":3,"invocationId":"1"})"), atOffset(11s), sink);
  session->receive(MessageKind::text, rec(R"({"type":3,"invocationId":"42"})"), atOffset(11s), sink);
  CHECK(sink.app_rtts.size() == 2);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("signalr: the idle connection sends no invocation and no stream", "[unit]") {
  const auto settings = signalrSettings({{"invoke", "Add"}}, {"Counter"});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/true, atOffset(0s));
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});
  CHECK(session->nextWake() == atOffset(15s));
  for (auto at = 1s; at <= 60s; at += 1s) {
    session->receive(MessageKind::text, kPing, atOffset(at), sink);
    session->tick(atOffset(at), sink);
  }
  // Only keepalives: one ping every 15 s.
  CHECK(sink.takeSent() == std::vector<std::string>{kPing, kPing, kPing, kPing});
}

// HubProtocol.md, "Streamed Result": C->S: StreamInvocation { Id = 42, Target =
// "Stream", Arguments = [ 5 ] }  S->C: StreamItem { Id = 42, Item = 0 } ...
// S->C: Completion { Id = 42 }; JSON {"type": 4, "invocationId": "123",
// "target": "Send", "arguments": [...]} and {"type": 2, "invocationId": "123",
// "item": 42}.
TEST_CASE("signalr: subscribe streams: StreamInvocation, StreamItems are data, Completion ends", "[unit]") {
  const auto settings = signalrSettings({{"subscribe_arguments", {5}}}, {"Stream", "Prices"});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/false, atOffset(0s));
  CHECK(sink.takeSent() ==
        std::vector<std::string>{kPing,
                                 rec(R"({"arguments":[5],"invocationId":"0","target":"Stream","type":4})"),
                                 rec(R"({"arguments":[5],"invocationId":"1","target":"Prices","type":4})")});
  session->receive(
      MessageKind::text,
      rec(R"({"type":2,"invocationId":"0","item":0})") + rec(R"({"type":2,"invocationId":"1","item":1})"),
      atOffset(1s), sink);
  session->receive(MessageKind::text, rec(R"({"type":2,"invocationId":"0","item":2})"), atOffset(2s), sink);
  CHECK(sink.data_messages == 3);
  // Items of streams this client did not start are not data.
  session->receive(MessageKind::text, rec(R"({"type":2,"invocationId":"9","item":0})"), atOffset(2s), sink);
  session->receive(MessageKind::text, rec(R"({"type":2,"invocationId":"x","item":0})"), atOffset(2s), sink);
  CHECK(sink.data_messages == 3);
  // "Streamed Result with Error": Completion { Id = 42, Error = "Ran out of data!" }
  session->receive(MessageKind::text, rec(R"({"type":3,"invocationId":"0","error":"Ran out of data!"})"),
                   atOffset(3s), sink);
  REQUIRE(sink.ended);
  CHECK(sink.ended->first == 1000);
  CHECK_THAT(sink.ended->second, Catch::Contains("Stream") && Catch::Contains("Ran out of data!"));
}

// HubProtocol.md, "Invocation Message Encoding" (server to client: the
// JavaScript client's connection.on(methodName), matched without case).
TEST_CASE("signalr: subscribe_mode invocations counts the server's calls of the named methods", "[unit]") {
  const auto settings = signalrSettings({{"subscribe_mode", "invocations"}}, {"ReceiveMessage"});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/false, atOffset(0s));
  CHECK(sink.takeSent() == std::vector<std::string>{kPing});  // nothing to subscribe with
  session->receive(MessageKind::text, rec(R"({"type":1,"target":"ReceiveMessage","arguments":["ann","hi"]})"),
                   atOffset(1s), sink);
  session->receive(MessageKind::text, rec(R"({"type":1,"target":"receivemessage","arguments":[]})"),
                   atOffset(2s), sink);
  session->receive(MessageKind::text, rec(R"({"type":1,"target":"UserJoined","arguments":[]})"), atOffset(3s),
                   sink);
  CHECK(sink.data_messages == 2);
  CHECK(sink.sent.empty());
}

// An Invocation with an invocationId asks the client for a result; the
// JavaScript client answers a handler that returns nothing with a Completion
// error ("Completion Message Encoding": {"type": 3, "invocationId": "123",
// "error": "..."}).
TEST_CASE("signalr: a server invocation that wants a result is answered with a Completion", "[unit]") {
  const auto settings = signalrSettings();
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  handshake(*session, sink, /*idle=*/true, atOffset(0s));
  sink.takeSent();
  session->receive(MessageKind::text,
                   rec(R"({"type":1,"invocationId":"7","target":"GetMessage","arguments":[]})"), atOffset(1s),
                   sink);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{
            rec(R"({"error":"Client didn't provide a result.","invocationId":"7","type":3})")});
  CHECK(sink.data_messages == 0);
}

// HubProtocol.md, "Message Headers": "clients and servers are expected to be
// able to process messages containing headers and disregard the headers";
// Ack (8) and Sequence (9) belong to stateful reconnect, which needs negotiate.
TEST_CASE("signalr: headers, Acks, Sequences and unknown types are ignored, records may span messages",
          "[unit]") {
  const auto settings = signalrSettings({}, {"Stream"});
  auto session = makeSignalr(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  // The handshake response cut in two WebSocket messages.
  session->receive(MessageKind::text, "{", atOffset(5ms), sink);
  CHECK_FALSE(sink.ready);
  session->receive(MessageKind::binary, "}\x1e{\"type\":2,\"invoc", atOffset(10ms), sink);
  CHECK(sink.ready);
  session->receive(MessageKind::text, "ationId\":\"0\",\"item\":1}\x1e", atOffset(20ms), sink);
  CHECK(sink.data_messages == 1);
  session->receive(MessageKind::text,
                   rec(R"({"type":2,"headers":{"Foo":"Bar"},"invocationId":"0","item":2})") +
                       rec(R"({"type":8,"sequenceId":1394})") + rec(R"({"type":9,"sequenceId":1})") +
                       rec(R"({"type":42})") + rec(R"({"type":2.0,"invocationId":"0","item":3})"),
                   atOffset(30ms), sink);
  CHECK(sink.data_messages == 3);
  CHECK_FALSE(sink.ended);
}

TEST_CASE("signalr: what is not the hub protocol refuses or ends the session, and never throws", "[unit]") {
  SECTION("before the handshake response") {
    for (const std::string_view bad : {"hello\x1e", "[]\x1e",
                                       R"({"type":1,"target":"x"})"
                                       "\x1e"}) {
      const auto settings = signalrSettings();
      auto session = makeSignalr(settings);
      RecordingSessionSink sink;
      session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
      CHECK_NOTHROW(session->receive(MessageKind::text, bad, atOffset(1s), sink));
      REQUIRE(sink.refused);
      CHECK(sink.refused->first == "protocol_error");
    }
  }
  SECTION("after ready") {
    for (const std::string_view bad :
         {"hello\x1e", "null\x1e", "42\x1e", "\xc3\x28\x1e", "[[[[[[[[[[[[[[[\x1e"}) {
      const auto settings = signalrSettings({{"invoke", "Add"}}, {"Stream"});
      auto session = makeSignalr(settings);
      RecordingSessionSink sink;
      handshake(*session, sink);
      CHECK_NOTHROW(session->receive(MessageKind::text, bad, atOffset(1s), sink));
      REQUIRE(sink.ended);
      CHECK(sink.ended->first == 1002);
      CHECK_FALSE(session->nextWake());
    }
  }
  SECTION("odd but well-formed messages are ignored") {
    const auto settings = signalrSettings({{"invoke", "Add"}, {"subscribe_mode", "invocations"}}, {"On"});
    auto session = makeSignalr(settings);
    RecordingSessionSink sink;
    handshake(*session, sink);
    for (const std::string_view odd :
         {R"({"type":1})", R"({"type":1,"target":7,"invocationId":7})", R"({"type":2})",
          R"({"type":3,"invocationId":"99999999999999"})", R"({"type":3,"invocationId":"-1"})",
          R"({"type":7e300})", R"({"type":-3})", R"({"type":5,"invocationId":"0"})", "{}", R"({"type":"1"})",
          R"({"type":1.5})", R"({"type":null})"}) {
      CHECK_NOTHROW(session->receive(MessageKind::text, rec(odd), atOffset(1s), sink));
    }
    CHECK_FALSE(sink.ended);
    CHECK(sink.data_messages == 0);
  }
  SECTION("a record that never ends") {
    const auto settings = signalrSettings();
    auto session = makeSignalr(settings);
    RecordingSessionSink sink;
    handshake(*session, sink);
    const std::string chunk(64 * 1024, ' ');
    for (int i = 0; i < 20 && !sink.ended; ++i)
      session->receive(MessageKind::text, chunk, atOffset(1s), sink);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1002);
  }
}

TEST_CASE("signalr: session values are checked", "[unit]") {
  const auto* entry = wsprobe::findProtocol("signalr");
  REQUIRE(entry);
  REQUIRE(entry->check_session_value);
  const auto check = [&](std::string_view key, const nlohmann::json& value) {
    return entry->check_session_value(key, value);
  };
  CHECK(check("invoke", "Echo") == "");
  CHECK(check("invoke", "") != "");
  CHECK(check("invoke", 1) != "");
  CHECK(check("invoke_arguments", nlohmann::json::array({1, "a"})) == "");
  CHECK(check("invoke_arguments", "a") != "");
  CHECK(check("subscribe_arguments", nlohmann::json::array()) == "");
  CHECK(check("subscribe_mode", "stream") == "");
  CHECK(check("subscribe_mode", "invocations") == "");
  CHECK(check("subscribe_mode", "events") != "");
  CHECK(check("keepalive_interval", "15s") == "");
  CHECK(check("server_timeout", "never") != "");
}
