// How a held connection ended or failed to open: the vocabulary of the
// wsprobe_disconnects_total and wsprobe_connection_failures_total labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "target_spec.h"

namespace wsprobe {

enum class ConnectionMode { heartbeat, idle };

enum class CloseCause {
  server_close,    // the server sent a close frame (with or without a code)
  abnormal,        // TCP ended without a close frame
  pong_timeout,    // no heartbeat answer in time: wsprobe dropped it
  protocol_error,  // the server broke the protocol; wsprobe closed
  agent,           // wsprobe closed on purpose (shutdown, reload, removal)
  stale,           // no server data message within message_timeout: wsprobe closed it
};

// session: the application protocol's handshake (after the 101) failed;
// config: a credential file could not be read before the attempt.
enum class FailureStage { dns, tcp, tls, http, timeout, protocol, session, config };

// The phases of a connection's handshake, in the order it goes through them
// (the `phase` label of wsprobe_handshake_phase_seconds): the DNS lookup, the
// TCP connect, the TLS handshake (wss:// only), and the HTTP upgrade (request
// sent to response read).
enum class HandshakePhase { dns, tcp, tls, upgrade };

std::string_view toString(ConnectionMode mode);
std::string_view toString(CloseCause cause);
std::string_view toString(FailureStage stage);
std::string_view toString(HandshakePhase phase);

// Close codes with a meaning here (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;
inline constexpr int protocol_error = 1002;
inline constexpr int no_status = 1005;
inline constexpr int abnormal = 1006;
inline constexpr int invalid_payload = 1007;
inline constexpr int message_too_big = 1009;
}  // namespace close_code

struct ConnectionEnd {
  ConnectionMode mode = ConnectionMode::heartbeat;
  int code = close_code::abnormal;
  CloseCause cause = CloseCause::abnormal;
  std::string reason;   // the server's close reason, or wsprobe's own words
  Duration lifetime{};  // open to end
};

struct ConnectionFailure {
  FailureStage stage = FailureStage::tcp;
  int http_status = 0;  // set for stage http
  std::string detail;   // for logs and the API
  // Stage session: the protocol's code or short reason ("4403", "connack_5",
  // "error_frame", "timeout").
  std::string session_status;
  // The handshake phase the attempt was in when it ended (upgrade once the
  // server answered the upgrade request); empty when it never reached the
  // network (stage config) or failed after the upgrade (stage session).
  std::optional<HandshakePhase> phase;

  // The `status` label: the HTTP status for stage http, the protocol's code
  // for stage session, else empty.
  std::string status() const;
};

// What the engine learned when a connection ended; classify() turns it into
// the labels. Kept apart from libwebsockets so it is tested without sockets.
struct CloseObservation {
  std::optional<int> server_close_code;  // a close frame arrived: its code, 1005 if none
  std::string server_reason;
  bool pong_overdue = false;             // wsprobe dropped it for a missing answer
  std::optional<int> agent_close_code;   // wsprobe closed it on purpose with this code
  std::optional<int> protocol_close_code;  // wsprobe closed it for a protocol violation
  std::optional<int> stale_close_code;     // wsprobe closed it for no data in message_timeout
  // The application protocol ended the session in-band (a Socket.IO
  // DISCONNECT, a SignalR close message): the code it asked for, and why.
  std::optional<int> session_end_code;
  std::string session_end_detail;
};

ConnectionEnd classify(const CloseObservation& seen, ConnectionMode mode, Duration lifetime);

// Parses the payload of a close frame: 2-byte big-endian code, then a UTF-8 reason.
// An empty payload means "no status" (1005).
struct ClosePayload {
  int code = close_code::no_status;
  std::string reason;
};
ClosePayload parseClosePayload(const unsigned char* data, std::size_t length);

// libwebsockets ended an upgraded connection that wsprobe was not closing:
// whether that was for a protocol violation, and with which code.
// `library_close` is what its close buffer holds (lws_get_close_payload and
// lws_get_close_length), `peer_closed` whether the peer's close frame came in,
// `peer_still_connected` whether the socket still reads as open (data waiting
// or none yet). Without a close from the peer, a reason libwebsockets recorded
// (1002, 1007, 1009) names the frame it failed, and an end without one while
// the peer is still there is a frame it rejected without a reason (1002).
// After the peer's close the buffer holds the echo of that close, which
// libwebsockets masks in place as it sends it (a client masks every frame,
// RFC 6455 5.3): random bytes that read as 1002, 1007 or 1009 in about 3 of
// 65,536 closes, so it is not read then; a bad code in the peer's close is
// judged when it arrives.
std::optional<int> libraryCloseViolation(bool peer_closed, std::string_view library_close,
                                         bool peer_still_connected);

// Whether a peer may put `code` in a close frame (RFC 6455 section 7.4):
// 1000-1003, 1007-1014 and 3000-4999. Any other code received is a protocol
// error.
bool isValidCloseCode(int code);

}  // namespace wsprobe
