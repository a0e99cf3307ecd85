#include <catch2/catch.hpp>

#include "probes/protocols/protocol_table.h"
#include "support/recording_session_sink.h"

using namespace std::chrono_literals;
using wsprobe::atOffset;
using wsprobe::MessageKind;

TEST_CASE("raw: ready at once, subscriptions sent as text, every message is data", "[unit]") {
  const auto* raw = wsprobe::findProtocol("raw");
  REQUIRE(raw);
  wsprobe::SessionSettings settings;
  settings.subscribe = {"SUB prices", "SUB news"};
  auto session = raw->make(settings);
  wsprobe::testing::RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = false}, atOffset(0s), sink);
  CHECK(sink.ready);
  CHECK(sink.takeSent() == std::vector<std::string>{"SUB prices", "SUB news"});
  session->receive(MessageKind::text, "tick", atOffset(1s), sink);
  session->receive(MessageKind::binary, "\x01", atOffset(2s), sink);
  CHECK(sink.data_messages == 2);
  CHECK_FALSE(session->nextWake());
}

TEST_CASE("raw: the idle connection subscribes to nothing", "[unit]") {
  wsprobe::SessionSettings settings;
  settings.subscribe = {"SUB prices"};
  auto session = wsprobe::findProtocol("raw")->make(settings);
  wsprobe::testing::RecordingSessionSink sink;
  session->start({.subprotocol = "", .idle = true}, atOffset(0s), sink);
  CHECK(sink.ready);
  CHECK(sink.sent.empty());
}

TEST_CASE("protocol table: unknown names are not found", "[unit]") {
  CHECK(wsprobe::findProtocol("auto") == nullptr);
  CHECK(wsprobe::findProtocol("RAW") == nullptr);
  CHECK(wsprobe::findProtocol("") == nullptr);
}
