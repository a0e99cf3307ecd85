// The test bed's side of the opening handshake (RFC 6455 section 4.2): the
// request head, whether it is a valid upgrade, and the responses. Text in,
// text out; no socket.
#include <catch2/catch.hpp>
#include <string>

#include "testbed/upgrade_request.h"

using namespace wsprobe::endpoints;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// RFC 6455 section 1.3's example key.
constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";

std::string upgradeHead(const std::string& extra = "",
                        const std::string& request_line = "GET /ws?x=1 HTTP/1.1") {
  return request_line +
         "\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         kKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

UpgradeDecision decide(const std::string& head) {
  const auto parsed = parseRequestHead(head);
  REQUIRE(parsed);
  return decideUpgrade(*parsed);
}

// The head with the first line that starts with `name` removed.
std::string without(std::string head, const std::string& name) {
  const std::size_t at = head.find("\r\n" + name);
  REQUIRE(at != std::string::npos);
  head.erase(at, head.find("\r\n", at + 2) - at);
  return head;
}

}  // namespace

TEST_CASE("testbed upgrade: the accept key is RFC 6455's worked example", "[unit]") {
  CHECK(acceptKeyFor(kKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("testbed upgrade: the head ends at the blank line, wherever the bytes stop", "[unit]") {
  const std::string head = upgradeHead();
  CHECK(requestHeadLength(head) == head.size());
  CHECK(requestHeadLength(head + "\x81\x80") == head.size());  // a frame right behind it
  CHECK(requestHeadLength(head.substr(0, head.size() - 1)) == 0);
  CHECK(requestHeadLength("") == 0);
}

TEST_CASE("testbed upgrade: a request head is parsed, header names lower-cased, values trimmed", "[unit]") {
  const auto parsed = parseRequestHead(upgradeHead("X-Token:   abc \t\r\nX-Token: def\r\n"));
  REQUIRE(parsed);
  CHECK(parsed->version == "HTTP/1.1");
  CHECK(parsed->request.method == "GET");
  CHECK(parsed->request.path == "/ws?x=1");
  CHECK(parsed->request.header("host") == "127.0.0.1:8080");
  CHECK(parsed->request.header("x-token") == "abc");  // the first of two
  CHECK(parsed->request.headers.size() == 7);
  CHECK_FALSE(parsed->request.header("cookie"));
}

TEST_CASE("testbed upgrade: heads that are not HTTP/1.x are refused", "[unit]") {
  for (const std::string& head : {
           std::string("GET /ws HTTP/2.0\r\n\r\n"), std::string("GET /ws\r\n\r\n"),
           std::string("GET  HTTP/1.1\r\n\r\n"), std::string("G(T /ws HTTP/1.1\r\n\r\n"),
           std::string("GET /ws HTTP/1.1\r\nno colon here\r\n\r\n"),
           std::string("GET /ws HTTP/1.1\r\n: empty name\r\n\r\n"),
           std::string("GET /ws HTTP/1.1\r\nBad Name: x\r\n\r\n"),
           std::string("GET /ws HTTP/1.1\r\nHost: x\r\n"),  // no blank line
       }) {
    INFO(head);
    CHECK_FALSE(parseRequestHead(head));
  }
}

TEST_CASE("testbed upgrade: garbage is recognised from its first bytes", "[unit]") {
  CHECK(couldBeRequestHead(""));
  CHECK(couldBeRequestHead("GE"));
  CHECK(couldBeRequestHead("GET /ws HTTP/1.1\r\nHo"));
  CHECK_FALSE(couldBeRequestHead(std::string("\x16\x03\x01", 3)));  // a TLS ClientHello on a ws:// port
  CHECK_FALSE(couldBeRequestHead("GET /ws SPDY/3\r\n"));
  CHECK_FALSE(couldBeRequestHead(std::string("G\0T", 3)));
}

TEST_CASE("testbed upgrade: a valid upgrade gets 101 with the accept key and the first subprotocol",
          "[unit]") {
  const auto decision = decide(upgradeHead("Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n"));
  CHECK(decision.status == 101);
  CHECK(decision.accept_key == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(decision.subprotocol == "chat.v2");
  const std::string response = switchingProtocolsResponse(decision);
  CHECK_THAT(response, StartsWith("HTTP/1.1 101 Switching Protocols\r\n"));
  CHECK_THAT(response, Contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  CHECK_THAT(response, Contains("\r\nSec-WebSocket-Protocol: chat.v2\r\n"));
  CHECK(response.substr(response.size() - 4) == "\r\n\r\n");
  CHECK(decide(upgradeHead()).subprotocol.empty());
  CHECK_THAT(switchingProtocolsResponse(decide(upgradeHead())), !Contains("Sec-WebSocket-Protocol"));
}

TEST_CASE("testbed upgrade: token lists and case are read as RFC 9110 says", "[unit]") {
  // Connection may list several tokens, in any case, across several lines.
  std::string head = without(without(upgradeHead(), "Connection"), "Upgrade");
  head.insert(head.size() - 2, "connection: keep-alive\r\nConnection: UPGRADE\r\nupgrade: WebSocket\r\n");
  CHECK(decide(head).status == 101);
}

TEST_CASE("testbed upgrade: requests that are not a valid upgrade are refused with 400 or 426", "[unit]") {
  struct Case {
    const char* what;
    std::string head;
    int status;
  };
  const std::vector<Case> cases = {
      {"no Upgrade", without(upgradeHead(), "Upgrade"), 426},
      {"no Connection: upgrade", without(upgradeHead(), "Connection"), 426},
      {"POST", upgradeHead("", "POST /ws HTTP/1.1"), 400},
      {"HTTP/1.0", upgradeHead("", "GET /ws HTTP/1.0"), 400},
      {"no Host", without(upgradeHead(), "Host"), 400},
      {"version 8", without(upgradeHead("Sec-WebSocket-Version: 8\r\n"), "Sec-WebSocket-Version: 13"), 426},
      {"no key", without(upgradeHead(), "Sec-WebSocket-Key"), 400},
      {"short key", without(upgradeHead("Sec-WebSocket-Key: c2hvcnQ=\r\n"), "Sec-WebSocket-Key: dGhl"), 400},
      {"key not base64",
       without(upgradeHead("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"), "Sec-WebSocket-Key: dGhl"),
       400},
  };
  for (const auto& c : cases) {
    INFO(c.what << "\n" << c.head);
    const auto decision = decide(c.head);
    CHECK(decision.status == c.status);
    CHECK_FALSE(decision.problem.empty());
    CHECK(decision.accept_key.empty());
  }
}

TEST_CASE("testbed upgrade: error responses carry their body, close, and 426 says what to upgrade to",
          "[unit]") {
  const std::string refused = errorResponse(503, "busy\n");
  CHECK_THAT(refused, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK_THAT(refused, Contains("\r\nContent-Length: 5\r\n"));
  CHECK_THAT(refused, Contains("\r\nConnection: close\r\n"));
  CHECK(refused.substr(refused.size() - 9) == "\r\n\r\nbusy\n");
  const std::string upgrade_required = errorResponse(426, "");
  CHECK_THAT(upgrade_required, Contains("\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"));
  CHECK_THAT(errorResponse(599, "x"), StartsWith("HTTP/1.1 599 Refused\r\n"));
}
