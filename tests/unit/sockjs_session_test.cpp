// Transcripts written from the SockJS protocol document (sockjs-protocol
// 0.3.3): the websocket transport's frames o, h, a, m, c.
#include "probes/protocols/sockjs_session.h"

#include <catch2/catch.hpp>

#include "probes/protocols/protocol_detection.h"
#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

std::unique_ptr<wsprobe::SessionProtocol> makeSession(const wsprobe::SessionSettings& settings) {
  const auto* entry = wsprobe::findProtocol("sockjs");
  REQUIRE(entry);
  return entry->make(settings);
}

}  // namespace

TEST_CASE("sockjs: ready on the open frame, subscriptions go as JSON arrays, each message is data",
          "[unit]") {
  wsprobe::SessionSettings settings;
  settings.url_path = "/echo/123/abcdefgh/websocket";
  settings.subscribe = {"prices", "say \"hi\""};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.sent.empty());
  CHECK_FALSE(sink.ready);
  session->receive(MessageKind::text, "o", atOffset(1ms), sink);
  CHECK(sink.ready);
  CHECK(sink.takeSent() == std::vector<std::string>{R"(["prices"])", R"(["say \"hi\""])"});
  session->receive(MessageKind::text, "h", atOffset(25s), sink);  // heartbeat: no reply, not data
  CHECK(sink.sent.empty());
  CHECK(sink.data_messages == 0);
  session->receive(MessageKind::text, R"(a["tick 1","tick 2",{"price":1}])", atOffset(26s), sink);
  CHECK(sink.data_messages == 3);
  session->receive(MessageKind::text, R"(m"single")", atOffset(27s), sink);
  CHECK(sink.data_messages == 4);
  session->receive(MessageKind::text, "o", atOffset(28s), sink);  // a second open: nothing new
  CHECK(sink.ready_calls == 1);
  CHECK(sink.sent.empty());
  CHECK_FALSE(session->nextWake());
  CHECK(sink.app_rtts.empty());
}

TEST_CASE("sockjs: the idle connection subscribes to nothing", "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"prices"};
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  session->receive(MessageKind::text, "o", atOffset(0s), sink);
  session->receive(MessageKind::text, "h", atOffset(25s), sink);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
}

TEST_CASE("sockjs: a close frame before open refuses the session with its code", "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(c[2010,"Another connection still open"])", atOffset(1ms), sink);
  REQUIRE(sink.refused);
  CHECK(sink.refused->first == "2010");
  CHECK_THAT(sink.refused->second, Catch::Contains("Another connection still open"));
  session->receive(MessageKind::text, "o", atOffset(2ms), sink);
  CHECK_FALSE(sink.ready);
}

TEST_CASE("sockjs: a close frame after open ends the session", "[unit]") {
  wsprobe::SessionSettings settings;
  struct Case {
    const char* frame;
    int code;
  };
  for (const auto& c : {Case{R"(c[3000,"Go away!"])", 3000}, Case{R"(c[1000,"Normal closure"])", 1000},
                        Case{R"(c[2010,"Another connection still open"])", 1000}}) {
    auto session = makeSession(settings);
    RecordingSessionSink sink;
    session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
    session->receive(MessageKind::text, "o", atOffset(0s), sink);
    session->receive(MessageKind::text, c.frame, atOffset(1s), sink);
    INFO(c.frame);
    REQUIRE(sink.ended);
    CHECK(sink.ended->first == c.code);
    CHECK_FALSE(sink.refused);
    session->receive(MessageKind::text, R"(a["late"])", atOffset(2s), sink);
    CHECK(sink.data_messages == 0);
  }
}

TEST_CASE("sockjs: messages before open and malformed frames are ignored, never thrown", "[unit]") {
  wsprobe::SessionSettings settings;
  auto session = makeSession(settings);
  RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  session->receive(MessageKind::text, R"(a["early"])", atOffset(0s), sink);
  session->receive(MessageKind::text, "o", atOffset(0s), sink);
  for (const std::string_view bad :
       {std::string_view(""), std::string_view("a"), std::string_view("a["), std::string_view(R"(a{"x":1})"),
        std::string_view("m"), std::string_view("c"), std::string_view("c[]"),
        std::string_view(R"(c["x","y"])"), std::string_view("c[3000]"), std::string_view("x"),
        std::string_view("a[\"\xff\"]")}) {
    CHECK_NOTHROW(session->receive(MessageKind::text, bad, atOffset(1s), sink));
  }
  session->receive(MessageKind::binary, "a[\"bin\"]", atOffset(1s), sink);
  CHECK(sink.data_messages == 0);
  CHECK_FALSE(sink.ended);
  CHECK_FALSE(sink.refused);
}

TEST_CASE("sockjs: no session keys, subscribe taken, codec small", "[unit]") {
  const auto* entry = wsprobe::findProtocol("sockjs");
  REQUIRE(entry);
  CHECK(entry->session_keys.empty());
  CHECK(entry->takes_subscribe);
  CHECK(wsprobe::sockjsSessionSize() <= 32);
}

TEST_CASE("sockjs: the upgrade path is built as sockjs-client builds it", "[unit]") {
  CHECK(wsprobe::sockjsUpgradePath("/echo/123/abc/websocket", 7) == "/echo/123/abc/websocket");
  CHECK(wsprobe::sockjsUpgradePath("/echo/123/abc/websocket?x=1", 7) == "/echo/123/abc/websocket?x=1");
  const auto built = wsprobe::sockjsUpgradePath("/echo", 123456789);
  CHECK(built.starts_with("/echo/789/"));
  CHECK(built.ends_with("/websocket"));
  CHECK(built.size() == std::string("/echo/789/12345678/websocket").size());
  CHECK(wsprobe::sockjsUpgradePath("/echo/", 5).starts_with("/echo/005/"));
  CHECK(wsprobe::sockjsUpgradePath("/echo?t=1", 5).ends_with("/websocket?t=1"));
  CHECK(wsprobe::sockjsUpgradePath("/echo", 1) != wsprobe::sockjsUpgradePath("/echo", 2000));
  // A built path is kept as it is, and detection recognises it.
  const auto once = wsprobe::sockjsUpgradePath("/echo", 99);
  CHECK(wsprobe::sockjsUpgradePath(once, 5) == once);
  CHECK(wsprobe::detectAtUpgrade(once, "") == "sockjs");
}
