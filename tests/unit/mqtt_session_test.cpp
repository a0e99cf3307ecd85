// Transcripts of MQTT 3.1.1 (OASIS standard, 2014) and MQTT 5 (OASIS
// standard, 2019) sessions, byte for byte from the standards' packet layouts.
#include <malloc.h>

#include <catch2/catch.hpp>
#include <initializer_list>
#include <random>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;
using wsprobe::testing::RecordingSessionSink;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) out.push_back(static_cast<char>(value));
  return out;
}

const std::string kConnackAccepted = bytes({0x20, 0x02, 0x00, 0x00});
const std::string kConnackAccepted5 = bytes({0x20, 0x03, 0x00, 0x00, 0x00});
const std::string kPingreq = bytes({0xC0, 0x00});
const std::string kPingresp = bytes({0xD0, 0x00});

// A PUBLISH of `payload` on topic "t" (QoS 0 unless `qos`, then packet id 7).
// Bytes in use on the heap (0 under a sanitizer, which has its own
// allocator: then the heap checks below check nothing).
std::size_t heapInUse() { return mallinfo2().uordblks; }

// A remaining length or property length: a variable byte integer.
std::string varint(std::size_t value) {
  std::string out;
  do {
    int byte = static_cast<int>(value % 128);
    value /= 128;
    if (value > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (value > 0);
  return out;
}

std::string publish(std::string_view payload, int qos = 0, bool v5 = false) {
  std::string body = bytes({0x00, 0x01, 't'});
  if (qos > 0) body += bytes({0x00, 0x07});
  if (v5) body += bytes({0x00});
  body += payload;
  return bytes({0x30 | (qos << 1)}) + varint(body.size()) + body;
}

struct Session {
  explicit Session(nlohmann::json session = nlohmann::json::object(), std::vector<std::string> subscribe = {},
                   wsprobe::Duration heartbeat = 20s) {
    settings.session = std::move(session);
    settings.subscribe = std::move(subscribe);
    settings.heartbeat_interval = heartbeat;
    codec = wsprobe::findProtocol("mqtt")->make(settings);
  }
  void start(bool idle = false, wsprobe::Duration at = 0s) {
    codec->start({.subprotocol = "mqtt", .idle = idle}, atOffset(at), sink);
  }
  void receive(const std::string& message, wsprobe::Duration at) {
    codec->receive(MessageKind::binary, message, atOffset(at), sink);
  }
  // Starts and accepts: the CONNECT is taken from the sink.
  void ready(bool idle = false, bool v5 = false) {
    start(idle);
    receive(v5 ? kConnackAccepted5 : kConnackAccepted, 100ms);
    REQUIRE(sink.ready);
    sink.sent.erase(sink.sent.begin());
  }
  wsprobe::SessionSettings settings;
  std::unique_ptr<wsprobe::SessionProtocol> codec;
  RecordingSessionSink sink;
};

// The client identifier of a CONNECT (3.1.1: after 10 bytes of variable
// header; 5: 11, with the empty properties block).
std::string clientIdOf(const std::string& connect, bool v5 = false) {
  const std::size_t at = 2 + 10 + (v5 ? 1 : 0);
  const std::size_t size =
      static_cast<unsigned char>(connect[at]) * 256u + static_cast<unsigned char>(connect[at + 1]);
  return connect.substr(at + 2, size);
}

}  // namespace

TEST_CASE("mqtt: 3.1.1 CONNECT by default: clean session, keepalive 60, a generated client id", "[unit]") {
  Session session;
  session.start();
  REQUIRE(session.sink.sent.size() == 1);
  CHECK(session.sink.sent[0].kind == MessageKind::binary);
  const auto connect = session.sink.sent[0].payload;
  const auto client_id = clientIdOf(connect);
  // Fixed header, protocol name, level 4, flags: clean session only, keepalive 60.
  CHECK(connect.substr(0, 12) == bytes({0x10, static_cast<int>(12 + client_id.size()), 0x00, 0x04, 'M', 'Q',
                                        'T', 'T', 0x04, 0x02, 0x00, 60}));
  CHECK(connect.size() == 14 + client_id.size());
  CHECK(client_id.rfind("wsprobe-", 0) == 0);
  CHECK(client_id.size() <= 23);
  CHECK_FALSE(session.sink.ready);
  CHECK_FALSE(session.codec->nextWake());  // nothing to time before the CONNACK
}

TEST_CASE("mqtt: two connections never share a client id", "[unit]") {
  Session first, second;
  first.start();
  second.start();
  CHECK(clientIdOf(first.sink.sent[0].payload) != clientIdOf(second.sink.sent[0].payload));

  Session named(nlohmann::json{{"client_id", "probe"}}), named_too(nlohmann::json{{"client_id", "probe"}});
  named.start();
  named_too.start();
  const auto id = clientIdOf(named.sink.sent[0].payload);
  CHECK(id.rfind("probe-", 0) == 0);
  CHECK(id != clientIdOf(named_too.sink.sent[0].payload));
}

TEST_CASE("mqtt: MQTT 5 CONNECT with user name, password, keepalive and a persistent session", "[unit]") {
  Session session(nlohmann::json{{"version", 5},
                                 {"username", "u"},
                                 {"password", "pw"},
                                 {"keepalive", 30},
                                 {"clean", false},
                                 {"client_id", "c"}});
  session.start();
  const auto connect = session.sink.sent.at(0).payload;
  const auto client_id = clientIdOf(connect, true);
  std::string expected = bytes({0x10, static_cast<int>(11 + 2 + client_id.size() + 3 + 4), 0x00, 0x04, 'M',
                                'Q', 'T', 'T', 0x05, 0xC0, 0x00, 30, 0x00});
  expected += bytes({0x00, static_cast<int>(client_id.size())}) + client_id;
  expected += bytes({0x00, 0x01, 'u', 0x00, 0x02, 'p', 'w'});
  CHECK(connect == expected);
}

TEST_CASE("mqtt: 3.1.1 sends a password with an empty user name when only the password is set", "[unit]") {
  Session session(nlohmann::json{{"password", "pw"}});
  session.start();
  const auto connect = session.sink.sent.at(0).payload;
  CHECK(static_cast<unsigned char>(connect[9]) == 0xC2);  // user name, password, clean session
  CHECK(connect.substr(connect.size() - 6) == bytes({0x00, 0x00, 0x00, 0x02, 'p', 'w'}));
}

TEST_CASE("mqtt: CONNACK 0 makes the session ready and subscribes every topic filter at QoS 0", "[unit]") {
  Session session({}, {"prices/#", "news"});
  session.ready();
  CHECK(session.sink.ready_calls == 1);
  REQUIRE(session.sink.sent.size() == 1);
  CHECK(session.sink.sent[0].payload == bytes({0x82, 20,  0x00, 0x01, 0x00, 0x08, 'p', 'r', 'i', 'c', 'e',
                                               's',  '/', '#',  0x00, 0x00, 0x04, 'n', 'e', 'w', 's', 0x00}));

  Session v5(nlohmann::json{{"version", 5}}, {"a"});
  v5.ready(false, true);
  REQUIRE(v5.sink.sent.size() == 1);
  // Packet identifier, empty properties, the filter, subscription options 0.
  CHECK(v5.sink.sent[0].payload == bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00}));
}

TEST_CASE("mqtt: the idle connection completes the handshake and subscribes to nothing", "[unit]") {
  Session session({}, {"prices"});
  session.ready(true);
  CHECK(session.sink.sent.empty());
}

TEST_CASE("mqtt: a refused CONNACK is a session failure named by its code", "[unit]") {
  SECTION("3.1.1: 5, not authorised") {
    Session session;
    session.start();
    session.receive(bytes({0x20, 0x02, 0x00, 0x05}), 10ms);
    REQUIRE(session.sink.refused);
    CHECK(session.sink.refused->first == "connack_5");
    CHECK_THAT(session.sink.refused->second, Catch::Contains("not authorised"));
  }
  SECTION("MQTT 5: 135, not authorized, with a reason string") {
    Session session(nlohmann::json{{"version", 5}});
    session.start();
    session.receive(bytes({0x20, 0x08, 0x00, 0x87, 0x05, 0x1F, 0x00, 0x02, 'n', 'o'}), 10ms);
    REQUIRE(session.sink.refused);
    CHECK(session.sink.refused->first == "connack_135");
    CHECK_THAT(session.sink.refused->second, Catch::Contains("not authorized") && Catch::Contains(": no"));
  }
  SECTION("MQTT 5 CONNECT answered by a 3.1.1 broker: 1, unacceptable protocol version") {
    Session session(nlohmann::json{{"version", 5}});
    session.start();
    session.receive(bytes({0x20, 0x02, 0x00, 0x01}), 10ms);
    REQUIRE(session.sink.refused);
    CHECK(session.sink.refused->first == "connack_1");
  }
}

TEST_CASE("mqtt: packets split across messages and joined in one are all read", "[unit]") {
  Session session({}, {"t"});
  session.start();
  // The CONNACK one byte per message.
  for (std::size_t i = 0; i < kConnackAccepted.size(); ++i) {
    CHECK_FALSE(session.sink.ready);
    session.receive(kConnackAccepted.substr(i, 1), 10ms);
  }
  CHECK(session.sink.ready);
  // SUBACK, two PUBLISHes and the start of a third in one message; the rest later.
  const auto third = publish("third");
  session.receive(
      bytes({0x90, 0x03, 0x00, 0x01, 0x00}) + publish("one") + publish("two") + third.substr(0, 4), 1s);
  CHECK(session.sink.data_messages == 2);
  session.receive(third.substr(4), 2s);
  CHECK(session.sink.data_messages == 3);
  // A remaining length split between messages.
  const auto big = publish(std::string(300, 'x'));
  session.receive(big.substr(0, 2), 3s);
  session.receive(big.substr(2), 3s);
  CHECK(session.sink.data_messages == 4);
  CHECK_FALSE(session.sink.ended);
}

TEST_CASE("mqtt: QoS 1 and 2 publishes are acknowledged and counted", "[unit]") {
  Session session({}, {});
  session.ready();
  session.receive(publish("a", 1), 1s);
  CHECK(session.sink.takeSent() == std::vector<std::string>{bytes({0x40, 0x02, 0x00, 0x07})});
  session.receive(publish("b", 2), 2s);
  CHECK(session.sink.takeSent() == std::vector<std::string>{bytes({0x50, 0x02, 0x00, 0x07})});
  session.receive(bytes({0x62, 0x02, 0x00, 0x07}), 2s);  // PUBREL
  CHECK(session.sink.takeSent() == std::vector<std::string>{bytes({0x70, 0x02, 0x00, 0x07})});
  CHECK(session.sink.data_messages == 2);
  // MQTT 5: properties after the packet identifier.
  Session v5(nlohmann::json{{"version", 5}});
  v5.ready(false, true);
  v5.receive(publish("c", 1, true), 1s);
  CHECK(v5.sink.takeSent() == std::vector<std::string>{bytes({0x40, 0x02, 0x00, 0x07})});
  CHECK(v5.sink.data_messages == 1);
}

TEST_CASE("mqtt: the idle connection sends PINGREQ as its keepalive asks and times the answer", "[unit]") {
  Session session(nlohmann::json{{"keepalive", 10}});
  session.start(true);  // CONNECT at 0 s
  session.receive(kConnackAccepted, 100ms);
  session.sink.sent.clear();
  // The keepalive counts from the last packet sent: the CONNECT.
  REQUIRE(session.codec->nextWake() == atOffset(10s));
  session.codec->tick(atOffset(9s), session.sink);
  CHECK(session.sink.sent.empty());
  session.codec->tick(atOffset(10s), session.sink);
  CHECK(session.sink.takeSent() == std::vector<std::string>{kPingreq});
  session.receive(kPingresp, 10s + 40ms);
  REQUIRE(session.sink.app_rtts.size() == 1);
  CHECK(session.sink.app_rtts[0] == 40ms);
  CHECK(session.codec->nextWake() == atOffset(20s));
  // Over an hour, one PINGREQ per keepalive, each answered.
  for (int n = 2; n <= 360; ++n) {
    const auto at = std::chrono::seconds(10 * n);
    REQUIRE(session.codec->nextWake() == atOffset(at));
    session.codec->tick(atOffset(at), session.sink);
    session.receive(kPingresp, at + 5ms);
  }
  CHECK(session.sink.takeSent().size() == 359);
  CHECK(session.sink.app_rtts.size() == 360);
  CHECK_FALSE(session.sink.ended);
}

TEST_CASE("mqtt: a PINGREQ left unanswered for a keepalive ends the session", "[unit]") {
  Session session(nlohmann::json{{"keepalive", 10}});
  session.ready(true);
  session.codec->tick(atOffset(10s), session.sink);
  CHECK(session.sink.takeSent() == std::vector<std::string>{kPingreq});
  REQUIRE(session.codec->nextWake() == atOffset(20s));
  session.codec->tick(atOffset(19s), session.sink);
  CHECK_FALSE(session.sink.ended);
  session.codec->tick(atOffset(20s), session.sink);
  REQUIRE(session.sink.ended);
  CHECK(session.sink.ended->first == 1002);
  CHECK_THAT(session.sink.ended->second, Catch::Contains("PINGRESP"));
  CHECK_FALSE(session.codec->nextWake());
  CHECK(session.sink.sent.empty());
}

TEST_CASE("mqtt: heartbeat connections send PINGREQ every heartbeat interval, one in flight", "[unit]") {
  Session session({}, {}, 2s);
  session.ready();  // ready at 100 ms
  REQUIRE(session.codec->nextWake() == atOffset(2100ms));
  session.codec->tick(atOffset(2100ms), session.sink);
  CHECK(session.sink.takeSent() == std::vector<std::string>{kPingreq});
  session.receive(kPingresp, 2150ms);
  CHECK(session.sink.app_rtts == std::vector<wsprobe::Duration>{50ms});
  // A slow answer: the heartbeat that falls while it is in flight is skipped.
  session.codec->tick(atOffset(4100ms), session.sink);
  CHECK(session.sink.takeSent().size() == 1);
  session.codec->tick(atOffset(6100ms), session.sink);
  CHECK(session.sink.sent.empty());
  session.receive(kPingresp, 6600ms);
  CHECK(session.sink.app_rtts.back() == 2500ms);
  CHECK(session.codec->nextWake() == atOffset(8100ms));
  // An unsolicited PINGRESP is no round trip.
  session.receive(kPingresp, 6700ms);
  CHECK(session.sink.app_rtts.size() == 2);
}

TEST_CASE("mqtt: an MQTT 5 Server Keep Alive replaces the keepalive announced", "[unit]") {
  Session session(nlohmann::json{{"version", 5}, {"keepalive", 60}});
  session.start(true);
  // CONNACK with properties: Server Keep Alive 5 s, Receive Maximum, a user property.
  session.receive(bytes({0x20, 0x10, 0x00, 0x00, 0x0D, 0x13, 0x00, 0x05, 0x21, 0x00, 0x0A, 0x26, 0x00, 0x01,
                         'k', 0x00, 0x01, 'v'}),
                  100ms);
  REQUIRE(session.sink.ready);
  CHECK(session.codec->nextWake() == atOffset(5s));
}

TEST_CASE("mqtt: keepalive 0 sends no PINGREQ on the idle connection", "[unit]") {
  Session session(nlohmann::json{{"keepalive", 0}});
  session.ready(true);
  CHECK_FALSE(session.codec->nextWake());
}

TEST_CASE("mqtt: a refused subscription ends the session with the filter and reason", "[unit]") {
  SECTION("3.1.1: 0x80") {
    Session session({}, {"ok", "secret/#"});
    session.ready();
    session.receive(bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x80}), 1s);
    REQUIRE(session.sink.ended);
    CHECK(session.sink.ended->first == 1000);
    CHECK_THAT(session.sink.ended->second, Catch::Contains("secret/#"));
  }
  SECTION("MQTT 5: 0x87 not authorized") {
    Session session(nlohmann::json{{"version", 5}}, {"secret"});
    session.ready(false, true);
    session.receive(bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x87}), 1s);
    REQUIRE(session.sink.ended);
    CHECK_THAT(session.sink.ended->second, Catch::Contains("not authorized"));
  }
  SECTION("granted QoS 0, 1 and 2 are no refusal") {
    Session session({}, {"a", "b", "c"});
    session.ready();
    session.receive(bytes({0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x02}), 1s);
    CHECK_FALSE(session.sink.ended);
  }
}

TEST_CASE("mqtt: a server DISCONNECT ends the session, or refuses it before the CONNACK", "[unit]") {
  Session session(nlohmann::json{{"version", 5}});
  session.ready(false, true);
  session.receive(bytes({0xE0, 0x01, 0x8B}), 5s);
  REQUIRE(session.sink.ended);
  CHECK(session.sink.ended->first == 1000);
  CHECK_THAT(session.sink.ended->second, Catch::Contains("server shutting down"));
  session.receive(publish("late"), 6s);  // nothing after the end
  CHECK(session.sink.data_messages == 0);

  Session early(nlohmann::json{{"version", 5}});
  early.start();
  early.receive(bytes({0xE0, 0x02, 0x9F, 0x00}), 10ms);
  REQUIRE(early.sink.refused);
  CHECK(early.sink.refused->first == "disconnect_159");
}

TEST_CASE("mqtt: text messages are read as binary ones", "[unit]") {
  Session session;
  session.start();
  session.codec->receive(MessageKind::text, kConnackAccepted, atOffset(10ms), session.sink);
  CHECK(session.sink.ready);
}

TEST_CASE("mqtt: malformed and hostile packets fail the session, never throw", "[unit]") {
  SECTION("a remaining length of five bytes") {
    Session session;
    session.start();
    session.receive(bytes({0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), 10ms);
    REQUIRE(session.sink.refused);
    CHECK(session.sink.refused->first == "protocol_error");
  }
  SECTION("a SUBACK announcing 268 MB fails at its header, before any is held") {
    Session session({}, {"t"});
    session.ready();
    session.receive(bytes({0x90, 0xFF, 0xFF, 0xFF, 0x7F}), 1s);
    REQUIRE(session.sink.ended);
    CHECK(session.sink.ended->first == 1002);
  }
  SECTION("a PUBLISH before the CONNACK") {
    Session session;
    session.start();
    session.receive(publish("x"), 10ms);
    REQUIRE(session.sink.refused);
    CHECK(session.sink.refused->first == "protocol_error");
    CHECK(session.sink.data_messages == 0);
  }
  SECTION("a PUBLISH with QoS 3, or shorter than its topic") {
    Session session;
    session.ready();
    session.receive(bytes({0x36, 0x02, 0x00, 0x00}), 1s);
    REQUIRE(session.sink.ended);
    Session shorter;
    shorter.ready();
    shorter.receive(bytes({0x30, 0x03, 0x00, 0x05, 'a'}), 1s);
    REQUIRE(shorter.sink.ended);
    CHECK(shorter.sink.data_messages == 0);
  }
  SECTION("packets a server never sends") {
    Session session;
    session.ready();
    session.receive(bytes({0x10, 0x00}), 1s);  // CONNECT
    REQUIRE(session.sink.ended);
    CHECK(session.sink.ended->first == 1002);
  }
  SECTION("a second CONNACK") {
    Session session;
    session.ready();
    session.receive(kConnackAccepted, 1s);
    REQUIRE(session.sink.ended);
    CHECK(session.sink.ready_calls == 1);
  }
  SECTION("truncated packets wait for the rest and do nothing else") {
    Session session;
    session.start();
    session.receive(bytes({0x20}), 10ms);
    session.receive(bytes({0x02, 0x00}), 20ms);
    CHECK_FALSE(session.sink.ready);
    CHECK_FALSE(session.sink.refused);
    CHECK_FALSE(session.codec->nextWake());
  }
  SECTION("random bytes after the CONNACK") {
    std::mt19937 random(8);
    for (int round = 0; round < 200; ++round) {
      Session session(nlohmann::json{{"version", round % 2 ? 5 : 4}}, {"t"}, 1s);
      session.ready();
      for (int message = 0; message < 20 && !session.sink.ended; ++message) {
        std::string noise(random() % 64, '\0');
        for (auto& byte : noise) byte = static_cast<char>(random());
        REQUIRE_NOTHROW(session.receive(noise, std::chrono::seconds(message)));
        REQUIRE_NOTHROW(session.codec->tick(atOffset(std::chrono::seconds(message)), session.sink));
      }
      CHECK_FALSE(session.sink.refused);  // already ready: ends, never refusals
    }
  }
}

TEST_CASE("mqtt: a huge PUBLISH is counted and skipped, never held", "[unit]") {
  Session session;
  session.ready();
  // 64 MiB announced (QoS 1, so the packet identifier after the topic is read),
  // delivered in 64 KiB messages; the heap must not grow with it.
  const std::uint32_t payload_size = 64u << 20;
  const std::uint32_t remaining = 2 + 1 + 2 + payload_size;
  const std::string header = bytes({0x32}) + varint(remaining) + bytes({0x00, 0x01, 't', 0x01, 0x02});
  const std::string chunk(64 * 1024, 'p');
  session.receive(header, 1s);
  const auto heap_before = heapInUse();
  for (std::uint32_t sent = 0; sent < payload_size; sent += chunk.size()) session.receive(chunk, 2s);
  const auto heap_after = heapInUse();
  CHECK(heap_after <= heap_before + 1024);
  CHECK(session.sink.data_messages == 1);
  CHECK(session.sink.takeSent() == std::vector<std::string>{bytes({0x40, 0x02, 0x01, 0x02})});
  CHECK_FALSE(session.sink.ended);
}

TEST_CASE("mqtt: a control packet split across messages is held only until it is whole", "[unit]") {
  Session session(nlohmann::json{{"version", 5}}, {"t"});
  session.ready(false, true);
  // A SUBACK with an 8000-byte reason string (chunks this large go back to
  // the heap when freed, so the heap's use shows whether it is still held),
  // in three pieces.
  const std::string reason(8000, 'r');
  const std::string properties = bytes({0x1F, 8000 / 256, 8000 % 256}) + reason;
  const std::string body = bytes({0x00, 0x01}) + varint(properties.size()) + properties + bytes({0x00});
  const std::string suback = bytes({0x90}) + varint(body.size()) + body;
  const auto first = suback.substr(0, 10), second = suback.substr(10, 4000), rest = suback.substr(4010);
  const auto heap_before = heapInUse();
  session.receive(first, 1s);
  session.receive(second, 1s);
  const auto heap_holding = heapInUse();
  session.receive(rest, 1s);
  const auto heap_after = heapInUse();
  if (heap_before > 0) {
    CHECK(heap_holding >= heap_before + 4000);  // the partial packet is held
    CHECK(heap_after <= heap_before + 512);     // and let go once whole
  }
  CHECK_FALSE(session.sink.ended);
  CHECK(session.sink.data_messages == 0);
}

TEST_CASE("mqtt: session values are checked", "[unit]") {
  const auto* mqtt = wsprobe::findProtocol("mqtt");
  REQUIRE(mqtt);
  CHECK(std::vector<std::string_view>(mqtt->subprotocols.begin(), mqtt->subprotocols.end()) ==
        std::vector<std::string_view>{"mqtt"});
  const auto check = [&](std::string_view key, const nlohmann::json& value) {
    return mqtt->check_session_value(key, value);
  };
  CHECK(check("version", 4).empty());
  CHECK(check("version", 5).empty());
  CHECK_FALSE(check("version", 3).empty());
  CHECK_FALSE(check("version", "5").empty());
  CHECK(check("keepalive", 0).empty());
  CHECK(check("keepalive", 65535).empty());
  CHECK_FALSE(check("keepalive", 65536).empty());
  CHECK_FALSE(check("keepalive", -1).empty());
  CHECK_FALSE(check("keepalive", 1.5).empty());
  CHECK(check("clean", false).empty());
  CHECK_FALSE(check("clean", "yes").empty());
  CHECK(check("client_id", "probe").empty());
  CHECK_FALSE(check("client_id", "").empty());
  CHECK(check("username", "u").empty());
  CHECK_FALSE(check("password", 5).empty());
  for (const auto key : mqtt->session_keys) CHECK_FALSE(check(key, nlohmann::json::array()).empty());
}

TEST_CASE("mqtt: an MQTT 5 session as mosquitto 2.0.11 answers it", "[unit]") {
  // Bytes captured from Debian's mosquitto 2.0.11 over its websockets listener.
  Session session(nlohmann::json{{"version", 5}, {"username", "probe"}, {"password", "right"}}, {"prices"},
                  1s);
  session.start();
  // CONNACK: Topic Alias Maximum 10, Receive Maximum 20.
  session.receive(bytes({0x20, 0x09, 0x00, 0x00, 0x06, 0x22, 0x00, 0x0a, 0x21, 0x00, 0x14}), 5ms);
  REQUIRE(session.sink.ready);
  session.receive(bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x00}), 10ms);  // SUBACK: granted QoS 0
  session.codec->tick(atOffset(1005ms), session.sink);
  session.receive(bytes({0xd0, 0x00}), 1006ms);
  CHECK(session.sink.app_rtts == std::vector<wsprobe::Duration>{1ms});
  CHECK_FALSE(session.sink.ended);

  Session refused(nlohmann::json{{"version", 5}, {"username", "probe"}, {"password", "wrong"}});
  refused.start();
  refused.receive(bytes({0x20, 0x03, 0x00, 0x87, 0x00}), 5ms);
  REQUIRE(refused.sink.refused);
  CHECK(refused.sink.refused->first == "connack_135");
}
