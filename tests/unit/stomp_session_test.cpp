// Transcripts of STOMP over WebSocket, written from the STOMP 1.2
// specification (stomp.github.io/stomp-specification-1.2.html): frames,
// heart-beat negotiation, receipts, ERROR frames.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using namespace std::string_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

std::unique_ptr<wsprobe::SessionProtocol>
makeSession(const wsprobe::SessionSettings &settings) {
  const auto *entry = wsprobe::findProtocol("stomp");
  REQUIRE(entry);
  return entry->make(settings);
}

// A frame as written in the spec, with the NUL that ends it.
std::string frame(std::string_view text) { return std::string(text) + '\0'; }

void receive(wsprobe::SessionProtocol &session, RecordingSessionSink &sink,
             std::string_view text, wsprobe::Duration at) {
  session.receive(MessageKind::text, text, atOffset(at), sink);
}

// Settings without the receipt round trip, so only heart-beats are sent.
wsprobe::SessionSettings withoutReceipts() {
  wsprobe::SessionSettings settings;
  settings.heartbeat_interval = wsprobe::Duration::zero();
  return settings;
}

} // namespace

TEST_CASE("stomp: CONNECT as stomp.js sends it, ready at CONNECTED, SUBSCRIBE "
          "per destination",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"/topic/prices", "/queue/a:b"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                 sink);
  CHECK(
      sink.takeSent() ==
      std::vector<std::string>{frame(
          "CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:10000,10000\n\n")});
  CHECK_FALSE(sink.ready);
  CHECK_FALSE(session->nextWake());

  receive(
      *session, sink,
      frame(
          "CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:RabbitMQ/3.10.8\n\n"),
      50ms);
  CHECK(sink.ready);
  // STOMP 1.2 escapes ':' in header values of frames other than CONNECT.
  CHECK(
      sink.takeSent() ==
      std::vector<std::string>{
          frame("SUBSCRIBE\nid:sub-0\ndestination:/topic/prices\nack:auto\n\n"),
          frame("SUBSCRIBE\nid:sub-1\ndestination:/queue/a\\cb\nack:auto\n\n"),
      });
  CHECK_FALSE(sink.refused);
  CHECK(sink.sent.empty());
}

TEST_CASE("stomp: host, login and passcode go into CONNECT when configured",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.session = {{"login", "guest"},
                      {"passcode", "s3cret"},
                      {"host", "/"},
                      {"heart_beat", "4000,0"}};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                 sink);
  CHECK(sink.takeSent() == std::vector<std::string>{
                               frame("CONNECT\naccept-version:1.0,1.1,1."
                                     "2\nhost:/\nlogin:guest\npasscode:s3cret\n"
                                     "heart-beat:4000,0\n\n")});
}

TEST_CASE("stomp: a 1.0 server (no version header) gets unescaped headers",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"/queue/a:b"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  sink.takeSent();
  receive(*session, sink, frame("CONNECTED\nsession:1\n\n"), 10ms);
  CHECK(sink.ready);
  CHECK(sink.takeSent() ==
        std::vector<std::string>{frame(
            "SUBSCRIBE\nid:sub-0\ndestination:/queue/a:b\nack:auto\n\n")});
}

TEST_CASE("stomp: heart-beat negotiation sends an EOL every max(cx, sy) when "
          "both are non-zero",
          "[unit]") {
  struct Case {
    std::string client; // our heart_beat offer
    std::string server; // CONNECTED heart-beat header ("" = none)
    std::optional<wsprobe::Duration> period;
  };
  const std::vector<Case> cases = {
      {"10000,10000", "0,0", std::nullopt},
      {"10000,10000", "5000,20000", 20s},
      {"10000,10000", "1000,1000", 10s},
      {"10000,10000", "", std::nullopt}, // a 1.0 server: no heart-beating
      {"0,10000", "1000,1000", std::nullopt},
      {"2000,0", "0,500", 2s},
      {"10000,10000", "garbage", std::nullopt},
  };
  for (const auto &c : cases) {
    INFO("client " << c.client << " server " << c.server);
    auto settings = withoutReceipts();
    settings.session = {{"heart_beat", c.client}};
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                   sink);
    sink.takeSent();
    const std::string connected =
        c.server.empty()
            ? "CONNECTED\nversion:1.2\n\n"
            : "CONNECTED\nversion:1.2\nheart-beat:" + c.server + "\n\n";
    receive(*session, sink, frame(connected), 1s);
    REQUIRE(sink.ready);
    if (!c.period) {
      CHECK_FALSE(session->nextWake());
      continue;
    }
    REQUIRE(session->nextWake() == atOffset(1s + *c.period));
    session->tick(atOffset(1s + *c.period), sink);
    CHECK(sink.takeSent() == std::vector<std::string>{"\n"});
    CHECK(session->nextWake() == atOffset(1s + 2 * *c.period));
  }
}

TEST_CASE("stomp: the server's heart-beats are not data, MESSAGE frames are",
          "[unit]") {
  auto settings = withoutReceipts();
  settings.subscribe = {"/topic/t"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                 sink);
  receive(*session, sink,
          frame("CONNECTED\nversion:1.2\nheart-beat:1000,1000\n\n"), 10ms);
  sink.takeSent();
  receive(*session, sink, "\n", 1s);
  receive(*session, sink, "\r\n", 2s);
  CHECK(sink.data_messages == 0);
  receive(*session, sink,
          frame("MESSAGE\nsubscription:sub-0\nmessage-id:1\ndestination:/topic/"
                "t\ncontent-type:text/plain\n\n"
                "hello"),
          3s);
  // Several frames in one message, EOLs between them, and a body holding a
  // NUL, delimited by content-length.
  receive(
      *session, sink,
      "\n" +
          frame(
              "MESSAGE\nsubscription:sub-0\nmessage-id:2\ncontent-length:3\n\na\0b"s) +
          "\r\n" + frame("MESSAGE\nsubscription:sub-0\nmessage-id:3\n\nx"),
      4s);
  // A last frame without its NUL ends with the message.
  receive(*session, sink,
          "MESSAGE\r\nsubscription:sub-0\r\nmessage-id:4\r\n\r\nbody", 5s);
  CHECK(sink.data_messages == 4);
  CHECK(sink.sent.empty());
  CHECK_FALSE(sink.ended);
}

TEST_CASE("stomp: app RTT from BEGIN/ABORT with a receipt, every heartbeat interval",
    "[unit]") {
  wsprobe::SessionSettings settings;
  settings.heartbeat_interval = 5s;
  settings.session = {{"heart_beat", "0,0"}};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                 sink);
  receive(*session, sink, frame("CONNECTED\nversion:1.2\nheart-beat:0,0\n\n"),
          1s);
  sink.takeSent();
  REQUIRE(session->nextWake() == atOffset(6s));
  session->tick(atOffset(6s), sink);
  CHECK(
      sink.takeSent() ==
      std::vector<std::string>{
          frame("BEGIN\ntransaction:wsprobe-rtt-1\n\n"),
          frame("ABORT\ntransaction:wsprobe-rtt-1\nreceipt:wsprobe-rtt-1\n\n"),
      });
  CHECK(session->nextWake() == atOffset(11s));
  receive(*session, sink, frame("RECEIPT\nreceipt-id:wsprobe-rtt-1\n\n"),
          6300ms);
  REQUIRE(sink.app_rtts.size() == 1);
  CHECK(sink.app_rtts[0] == 300ms);
  // A duplicate is not timed twice.
  receive(*session, sink, frame("RECEIPT\nreceipt-id:wsprobe-rtt-1\n\n"),
          6400ms);
  CHECK(sink.app_rtts.size() == 1);

  // Unanswered: the next round goes out anyway, and only its receipt counts.
  session->tick(atOffset(11s), sink);
  session->tick(atOffset(16s), sink);
  CHECK(sink.takeSent().size() == 4);
  receive(*session, sink, frame("RECEIPT\nreceipt-id:wsprobe-rtt-2\n\n"),
          16500ms);
  receive(*session, sink, frame("RECEIPT\nreceipt-id:other\n\n"), 16600ms);
  CHECK(sink.app_rtts.size() == 1);
  receive(*session, sink, frame("RECEIPT\nreceipt-id:wsprobe-rtt-3\n\n"),
          16700ms);
  REQUIRE(sink.app_rtts.size() == 2);
  CHECK(sink.app_rtts[1] == 700ms);
  CHECK(sink.data_messages == 0);
}

TEST_CASE("stomp: heart-beats and receipts share the wake-up", "[unit]") {
  wsprobe::SessionSettings settings;
  settings.heartbeat_interval = 5s;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                 sink);
  receive(*session, sink,
          frame("CONNECTED\nversion:1.2\nheart-beat:3000,2000\n\n"), 0s);
  sink.takeSent();
  // Beats every max(10000, 2000) = 10 s; receipts every 5 s.
  CHECK(session->nextWake() == atOffset(5s));
  session->tick(atOffset(5s), sink);
  CHECK(sink.takeSent().size() == 2); // BEGIN, ABORT
  CHECK(session->nextWake() == atOffset(10s));
  session->tick(atOffset(10s), sink);
  const auto sent = sink.takeSent();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0] == "\n");
}

TEST_CASE("stomp: the idle connection heart-beats but neither subscribes nor "
          "asks for receipts",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"/topic/t"};
  settings.heartbeat_interval = 1s;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "v12.stomp", .idle = true}, atOffset(0s),
                 sink);
  CHECK(sink.takeSent().size() == 1); // CONNECT
  receive(*session, sink,
          frame("CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n"), 0s);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
  REQUIRE(session->nextWake() == atOffset(10s));
  session->tick(atOffset(10s), sink);
  CHECK(sink.takeSent() == std::vector<std::string>{"\n"});
}

TEST_CASE("stomp: an ERROR frame refuses the session before CONNECTED and ends "
          "it after",
          "[unit]") {
  wsprobe::SessionSettings settings;
  SECTION("before") {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                   sink);
    receive(*session, sink,
            frame("ERROR\nmessage:Access refused for user "
                  "'guest'\ncontent-type:text/plain\n\n"
                  "Access refused"),
            10ms);
    REQUIRE(sink.refused);
    CHECK(sink.refused->first == "error_frame");
    CHECK(sink.refused->second == "Access refused for user 'guest'");
    receive(*session, sink, frame("CONNECTED\nversion:1.2\n\n"), 20ms);
    CHECK_FALSE(sink.ready);
  }
  SECTION("after") {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                   sink);
    receive(*session, sink, frame("CONNECTED\nversion:1.2\n\n"), 10ms);
    receive(*session, sink, frame("ERROR\nmessage:not_found\n\n"), 20ms);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == 1000);
    CHECK(sink.ended->second.find("not_found") != std::string::npos);
    CHECK_FALSE(sink.refused);
    CHECK_FALSE(session->nextWake());
  }
}

TEST_CASE("stomp: malformed input is a counted failure, never a throw",
          "[unit]") {
  const std::vector<std::string> broken = {
      "CONNECTED",
      "CONNECTED\nversion:1.2\n",
      std::string("CONNECTED\nversion:1.2", 21),
      frame("MESSAGE\ncontent-length:99\n\nab"),
      frame("MESSAGE\ncontent-length:x\n\nab"),
      frame("MESSAGE\ncontent-length:1\n\nab"),
      std::string(100000, 'A'),
  };
  for (const auto &input : broken) {
    for (const bool after_connected : {false, true}) {
      INFO("after_connected=" << after_connected
                              << " input: " << input.substr(0, 60));
      wsprobe::SessionSettings settings;
      auto session = makeSession(settings);
      RecordingSessionSink sink;
      session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                     sink);
      if (after_connected)
        receive(*session, sink, frame("CONNECTED\nversion:1.2\n\n"), 1ms);
      REQUIRE_NOTHROW(
          session->receive(MessageKind::text, input, atOffset(1s), sink));
      REQUIRE_NOTHROW(
          session->receive(MessageKind::binary, input, atOffset(2s), sink));
      if (after_connected) {
        REQUIRE(sink.ended);
        CHECK(sink.ended->first == 1002);
      } else {
        REQUIRE(sink.refused);
        CHECK(sink.refused->first == "malformed");
      }
      CHECK(sink.data_messages == 0);
    }
  }
  // Odd but well-formed frames are ignored, as stomp.js ignores them.
  for (const auto &input : std::vector<std::string>{
           "", std::string(1, '\0'), frame("NOPE\n\n"), frame("\n\n"),
           frame(":\n\n"), frame("RECEIPT\n\n"), "\xff\xfe\n\n"}) {
    INFO("input: " << input);
    wsprobe::SessionSettings settings;
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "v12.stomp", .idle = false}, atOffset(0s),
                   sink);
    receive(*session, sink, frame("CONNECTED\nversion:1.2\n\n"), 1ms);
    REQUIRE_NOTHROW(receive(*session, sink, input, 1s));
    CHECK_FALSE(sink.ended);
    CHECK(sink.data_messages == 0);
  }
}

TEST_CASE("stomp: table entry offers the STOMP subprotocols and checks its "
          "session keys",
          "[unit]") {
  const auto *entry = wsprobe::findProtocol("stomp");
  REQUIRE(entry);
  CHECK(std::vector<std::string_view>(entry->subprotocols.begin(),
                                      entry->subprotocols.end()) ==
        std::vector<std::string_view>{"v12.stomp", "v11.stomp", "v10.stomp"});
  CHECK(
      std::vector<std::string_view>(entry->session_keys.begin(),
                                    entry->session_keys.end()) ==
      std::vector<std::string_view>{"login", "passcode", "host", "heart_beat"});
  REQUIRE(entry->check_session_value);
  using nlohmann::json;
  CHECK(entry->check_session_value("heart_beat", json("10000,10000")).empty());
  CHECK(entry->check_session_value("heart_beat", json("0, 0")).empty());
  CHECK_FALSE(entry->check_session_value("heart_beat", json("10000")).empty());
  CHECK_FALSE(entry->check_session_value("heart_beat", json("-1,5")).empty());
  CHECK_FALSE(entry->check_session_value("heart_beat", json(10000)).empty());
  CHECK(entry->check_session_value("login", json("guest")).empty());
  CHECK_FALSE(entry->check_session_value("login", json("a\nb")).empty());
  CHECK_FALSE(entry->check_session_value("passcode", json(1234)).empty());
}
