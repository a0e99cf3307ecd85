// The HTTP side of the opening handshake (RFC 6455 section 4.2): parsing the
// client's request head, deciding whether it is a valid upgrade, and the
// responses. No sockets here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "testbed/misbehaving_endpoint.h"

namespace wsprobe::endpoints {

// Longest request head read before answering 431.
inline constexpr std::size_t kMaxRequestHead = 16 * 1024;

// The length of the request head in `buffer` including the blank line that
// ends it, or 0 while it is incomplete.
std::size_t requestHeadLength(std::string_view buffer);

// False once the first bytes of a connection cannot be the start of an HTTP
// request (control bytes, or a complete request line that does not parse), so
// garbage is answered with 400 at once instead of after a timeout.
bool couldBeRequestHead(std::string_view partial);

// Parses a complete request head (request line and headers). nullopt when it
// is not HTTP/1.x: the caller answers 400.
struct ParsedRequest {
  SeenRequest request;
  std::string version;  // "HTTP/1.1"
};
std::optional<ParsedRequest> parseRequestHead(std::string_view head);

// What to answer to a parsed request, before any misbehaviour applies.
struct UpgradeDecision {
  int status = 101;          // 101, or 400 / 426 for a request that is not a valid upgrade
  std::string problem;       // why it is not (the body of the error response)
  std::string accept_key;    // Sec-WebSocket-Accept, for 101
  std::string subprotocol;   // the first offered subprotocol, echoed back; may be empty
};
UpgradeDecision decideUpgrade(const ParsedRequest& parsed);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string acceptKeyFor(std::string_view key);

std::string switchingProtocolsResponse(const UpgradeDecision& decision);
// A complete response with a short text body and "Connection: close".
std::string errorResponse(int status, std::string_view body);

}  // namespace wsprobe::endpoints
