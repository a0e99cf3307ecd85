// Transcripts of ActionCable sessions (actioncable-v1-json), written from the
// official client (@rails/actioncable connection.js, connection_monitor.js,
// subscriptions.js) and the Rails server's messages.
#include <catch2/catch.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

struct Session {
  explicit Session(std::vector<std::string> subscribe = {}) {
    settings.subscribe = std::move(subscribe);
    codec = wsprobe::findProtocol("actioncable")->make(settings);
  }
  void start(bool idle = false, std::string_view subprotocol = "actioncable-v1-json") {
    codec->start({.subprotocol = subprotocol, .idle = idle}, atOffset(0s), sink);
  }
  void receive(std::string_view message, wsprobe::Duration at) {
    codec->receive(MessageKind::text, message, atOffset(at), sink);
  }
  wsprobe::SessionSettings settings;
  std::unique_ptr<wsprobe::SessionProtocol> codec;
  RecordingSessionSink sink;
};

const char* const kWelcome = R"({"type":"welcome"})";
const char* const kPricesIdentifier = R"({\"channel\":\"PricesChannel\"})";

std::string ping(int unix_time) { return R"({"type":"ping","message":)" + std::to_string(unix_time) + "}"; }

}  // namespace

TEST_CASE("actioncable: the welcome makes the session ready and subscribes each channel", "[unit]") {
  Session session({"PricesChannel", R"({"channel":"ChatChannel","room":"1"})"});
  session.start();
  CHECK(session.sink.sent.empty());  // the server speaks first
  CHECK_FALSE(session.sink.ready);
  session.receive(kWelcome, 50ms);
  CHECK(session.sink.ready_calls == 1);
  REQUIRE(session.sink.sent.size() == 2);
  CHECK(session.sink.sent[0].kind == MessageKind::text);
  CHECK(session.sink.takeSent() ==
        std::vector<std::string>{
            std::string(R"({"command":"subscribe","identifier":")") + kPricesIdentifier + R"("})",
            R"({"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}"})"});
  session.receive(kWelcome, 60ms);  // a second welcome changes nothing
  CHECK(session.sink.ready_calls == 1);
  CHECK(session.sink.sent.empty());
}

TEST_CASE("actioncable: the idle connection subscribes to nothing", "[unit]") {
  Session session({"PricesChannel"});
  session.start(true);
  session.receive(kWelcome, 50ms);
  CHECK(session.sink.ready);
  CHECK(session.sink.sent.empty());
}

TEST_CASE("actioncable: confirm_subscription is an app round trip, once per subscription", "[unit]") {
  Session session({"PricesChannel"});
  session.start();
  session.receive(kWelcome, 1s);
  session.receive(
      std::string(R"({"identifier":")") + kPricesIdentifier + R"(","type":"confirm_subscription"})",
      1s + 30ms);
  CHECK(session.sink.app_rtts == std::vector<wsprobe::Duration>{30ms});
  session.receive(
      std::string(R"({"identifier":")") + kPricesIdentifier + R"(","type":"confirm_subscription"})", 2s);
  session.receive(R"({"identifier":"{\"channel\":\"Other\"}","type":"confirm_subscription"})", 2s);
  CHECK(session.sink.app_rtts.size() == 1);
}

TEST_CASE("actioncable: broadcasts are data messages, pings, welcomes and confirmations are not", "[unit]") {
  Session session({"PricesChannel"});
  session.start();
  session.receive(std::string(R"({"identifier":")") + kPricesIdentifier + R"(","message":{"p":1}})", 10ms);
  CHECK(session.sink.data_messages == 0);  // before the welcome
  session.receive(kWelcome, 20ms);
  session.receive(ping(1700000000), 3s);
  session.receive(
      std::string(R"({"identifier":")") + kPricesIdentifier + R"(","type":"confirm_subscription"})", 3s);
  session.receive(std::string(R"({"identifier":")") + kPricesIdentifier + R"(","message":{"p":1}})", 4s);
  session.receive(std::string(R"({"identifier":")") + kPricesIdentifier + R"(","message":"text"})", 5s);
  session.receive(R"({"message":{"p":1}})", 5s);  // no identifier: no subscription of ours
  CHECK(session.sink.data_messages == 2);
}

TEST_CASE("actioncable: pings keep the session, when they stop it ends as the official client would",
          "[unit]") {
  Session session;
  session.start();
  CHECK_FALSE(session.codec->nextWake());  // connect_timeout covers the welcome
  session.receive(kWelcome, 100ms);
  CHECK(session.codec->nextWake() == atOffset(9100ms));
  // Ten minutes of pings every 3 s.
  for (int beat = 1; beat <= 200; ++beat) {
    const auto at = std::chrono::seconds(3 * beat);
    session.codec->tick(atOffset(at), session.sink);
    session.receive(ping(1700000000 + 3 * beat), at);
  }
  CHECK_FALSE(session.sink.ended);
  CHECK(session.codec->nextWake() == atOffset(609s));
  session.codec->tick(atOffset(608s), session.sink);
  CHECK_FALSE(session.sink.ended);
  session.codec->tick(atOffset(609s), session.sink);
  REQUIRE(session.sink.ended);
  CHECK(session.sink.ended->first == 1000);
  CHECK_THAT(session.sink.ended->second, Catch::Contains("ping"));
  CHECK_FALSE(session.codec->nextWake());
  CHECK(session.sink.sent.empty());  // pings are never answered
}

TEST_CASE("actioncable: a disconnect before the welcome refuses the session with its reason", "[unit]") {
  Session session({"PricesChannel"});
  session.start();
  session.receive(R"({"type":"disconnect","reason":"unauthorized","reconnect":false})", 20ms);
  REQUIRE(session.sink.refused);
  CHECK(session.sink.refused->first == "unauthorized");
  CHECK_THAT(session.sink.refused->second, Catch::Contains("no reconnect"));
  session.receive(kWelcome, 30ms);  // nothing after the refusal
  CHECK_FALSE(session.sink.ready);
  CHECK(session.sink.sent.empty());

  Session odd;  // a reason that is not one of the protocol's words is not a label value
  odd.start();
  odd.receive(R"({"type":"disconnect","reason":"go away now, you"})", 20ms);
  REQUIRE(odd.sink.refused);
  CHECK(odd.sink.refused->first == "disconnect");
}

TEST_CASE("actioncable: a disconnect after the welcome ends the session", "[unit]") {
  Session session;
  session.start();
  session.receive(kWelcome, 20ms);
  session.receive(R"({"type":"disconnect","reason":"server_restart","reconnect":true})", 5s);
  REQUIRE(session.sink.ended);
  CHECK(session.sink.ended->first == 1000);
  CHECK_THAT(session.sink.ended->second, Catch::Contains("server_restart"));
  CHECK_FALSE(session.sink.refused);
}

TEST_CASE("actioncable: a rejected subscription ends the session with its identifier", "[unit]") {
  Session session({"SecretChannel"});
  session.start();
  session.receive(kWelcome, 20ms);
  session.receive(R"({"identifier":"{\"channel\":\"SecretChannel\"}","type":"reject_subscription"})", 40ms);
  REQUIRE(session.sink.ended);
  CHECK(session.sink.ended->first == 1000);
  CHECK_THAT(session.sink.ended->second, Catch::Contains("SecretChannel"));
}

TEST_CASE("actioncable: a server that picked actioncable-unsupported refuses the session", "[unit]") {
  Session session;
  session.start(false, "actioncable-unsupported");
  REQUIRE(session.sink.refused);
  CHECK(session.sink.refused->first == "unsupported_protocol");
  session.receive(kWelcome, 10ms);
  CHECK_FALSE(session.sink.ready);
}

TEST_CASE("actioncable: malformed and hostile messages are dropped, never thrown", "[unit]") {
  Session session({"PricesChannel"});
  session.start();
  session.receive(kWelcome, 10ms);
  for (const std::string& message :
       {std::string("not json"), std::string("[1,2]"), std::string("\"welcome\""),
        std::string("{\"type\":5}"), std::string("{\"type\":\"ping\""), std::string(200000, '['),
        std::string("{\"identifier\":1,\"message\":"), std::string("\xff\xfe", 2), std::string()}) {
    REQUIRE_NOTHROW(session.receive(message, 1s));
  }
  CHECK_FALSE(session.sink.ended);
  CHECK(session.sink.data_messages == 0);
  // Binary messages are read the same way.
  session.codec->receive(MessageKind::binary, R"({"type":"ping","message":1})", atOffset(8s), session.sink);
  CHECK(session.codec->nextWake() == atOffset(17s));
}

TEST_CASE("actioncable: offers the official client's subprotocols and takes no session keys", "[unit]") {
  const auto* cable = wsprobe::findProtocol("actioncable");
  REQUIRE(cable);
  CHECK(std::vector<std::string_view>(cable->subprotocols.begin(), cable->subprotocols.end()) ==
        std::vector<std::string_view>{"actioncable-v1-json", "actioncable-unsupported"});
  CHECK(cable->session_keys.empty());
  CHECK(cable->takes_subscribe);
}
