#include <catch2/catch.hpp>

#include "probes/connection_end.h"

using namespace std::chrono_literals;
using namespace wsprobe;

namespace {
CloseObservation observed(std::optional<int> server, std::string reason, bool pong_overdue,
                          std::optional<int> agent, std::optional<int> protocol) {
  CloseObservation seen;
  seen.server_close_code = server;
  seen.server_reason = std::move(reason);
  seen.pong_overdue = pong_overdue;
  seen.agent_close_code = agent;
  seen.protocol_close_code = protocol;
  return seen;
}
}  // namespace

TEST_CASE("connection ends are labelled as SPEC's table says", "[unit]") {
  struct Case {
    const char* what;
    CloseObservation seen;
    int code;
    CloseCause cause;
  };
  const std::vector<Case> cases = {
      {"server close 1000", observed(1000, "bye", false, {}, {}), 1000, CloseCause::server_close},
      {"server close 1001", observed(1001, "", false, {}, {}), 1001, CloseCause::server_close},
      {"server close 1011", observed(1011, "", false, {}, {}), 1011, CloseCause::server_close},
      {"server close 1012 kept", observed(1012, "", false, {}, {}), 1012, CloseCause::server_close},
      {"server close 1013 kept", observed(1013, "", false, {}, {}), 1013, CloseCause::server_close},
      {"server close 4001", observed(4001, "", false, {}, {}), 4001, CloseCause::server_close},
      {"server close without code", observed(1005, "", false, {}, {}), 1005, CloseCause::server_close},
      {"TCP ended without close frame", observed({}, "", false, {}, {}), 1006, CloseCause::abnormal},
      {"pong timeout", observed({}, "", true, {}, {}), 1006, CloseCause::pong_timeout},
      {"pong timeout wins over a later close frame", observed(1000, "", true, {}, {}), 1006,
       CloseCause::pong_timeout},
      {"protocol error", observed({}, "", false, {}, 1002), 1002, CloseCause::protocol_error},
      {"invalid UTF-8", observed({}, "", false, {}, 1007), 1007, CloseCause::protocol_error},
      {"agent shutdown", observed({}, "", false, 1001, {}), 1001, CloseCause::agent},
      {"agent close wins over the server's answer", observed(1001, "", false, 1000, {}), 1000,
       CloseCause::agent},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const ConnectionEnd end = classify(c.seen, ConnectionMode::idle, 61s);
    CHECK(end.code == c.code);
    CHECK(end.cause == c.cause);
    CHECK(end.mode == ConnectionMode::idle);
    CHECK(end.lifetime == 61s);
  }
}

TEST_CASE("the server's close reason is kept", "[unit]") {
  CloseObservation seen;
  seen.server_close_code = 1011;
  seen.server_reason = "internal error";
  CHECK(classify(seen, ConnectionMode::heartbeat, 1s).reason == "internal error");
}

TEST_CASE("close payloads are parsed as big-endian code then reason", "[unit]") {
  const unsigned char payload[] = {0x03, 0xF4, 'r', 'e', 's', 't', 'a', 'r', 't'};  // 1012
  const ClosePayload parsed = parseClosePayload(payload, sizeof payload);
  CHECK(parsed.code == 1012);
  CHECK(parsed.reason == "restart");
  CHECK(parseClosePayload(payload, 0).code == 1005);
  CHECK(parseClosePayload(nullptr, 0).code == 1005);
  CHECK(parseClosePayload(payload, 1).code == 1005);  // one byte is no code
}

TEST_CASE("close codes a server may send, and the ones that are a protocol error", "[unit]") {
  for (const int code : {1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4001, 4999}) {
    INFO(code);
    CHECK(isValidCloseCode(code));
  }
  for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    INFO(code);
    CHECK_FALSE(isValidCloseCode(code));
  }
}

TEST_CASE("label values are the SPEC's words", "[unit]") {
  CHECK(toString(CloseCause::server_close) == "server_close");
  CHECK(toString(CloseCause::pong_timeout) == "pong_timeout");
  CHECK(toString(CloseCause::protocol_error) == "protocol_error");
  CHECK(toString(FailureStage::timeout) == "timeout");
  CHECK(toString(ConnectionMode::idle) == "idle");
}

TEST_CASE("an end libwebsockets chose is a protocol_error only for a frame it failed", "[unit]") {
  using namespace std::string_view_literals;
  // Its own reason for failing a frame, with or without the peer still there.
  CHECK(libraryCloseViolation(false, "\x03\xef" "bad utf8"sv, true) == 1007);
  CHECK(libraryCloseViolation(false, "\x03\xea" "srv mask"sv, false) == 1002);
  // A frame rejected without a reason: the peer is still connected.
  CHECK(libraryCloseViolation(false, ""sv, true) == 1002);
  // TCP ended without a close frame: abnormal, not a violation.
  CHECK_FALSE(libraryCloseViolation(false, ""sv, false).has_value());
  // After the peer's close the buffer is the echo of it, masked in place once
  // sent: a restart's 1012 "restarting" whose masked first bytes read 1009 (as
  // seen in a restart storm: 03f1 6353 7371 7044 746c 7f51), or 1002, or
  // 1007, is still the server's close.
  CHECK_FALSE(libraryCloseViolation(true, "\x03\xf1\x63\x53\x73\x71\x70\x44\x74\x6c\x7f\x51"sv, false).has_value());
  CHECK_FALSE(libraryCloseViolation(true, "\x03\xea\x11\x22"sv, true).has_value());
  CHECK_FALSE(libraryCloseViolation(true, "\x03\xef"sv, false).has_value());
  // ... and so is the echo of a close without a code.
  CHECK_FALSE(libraryCloseViolation(true, ""sv, true).has_value());
}
