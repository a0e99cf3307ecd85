// WebSocket servers on loopback that misbehave on purpose, the way real paths
// do: idle timeouts, drops without a close frame, server close codes, refused
// upgrades, unanswered pings. `wsprobe demo` and the integration tests probe
// them. A small RFC 6455 server of its own (POSIX sockets, OpenSSL for the
// accept key and TLS) rather than libwebsockets, so every misbehaviour is in
// our hands.
//
// One accept thread plus one thread per accepted connection: meant for tens of
// connections, not thousands. Nothing here raises SIGPIPE in the process:
// plain sockets are written with MSG_NOSIGNAL, and each connection's thread
// blocks SIGPIPE for itself, since OpenSSL writes TLS to the socket without
// that flag; no process-wide signal disposition is changed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "testbed/self_signed_certificate.h"

namespace wsprobe::endpoints {

// A frame a client must reject, sent right after the upgrade.
enum class InvalidFrame {
  none,
  reserved_opcode,  // opcode 0x3: the client should close with 1002
  reserved_bits,    // RSV1 set with no extension negotiated: 1002
  invalid_utf8,     // a text frame that is not UTF-8: 1007
  fragmented_ping,  // a ping without FIN (control frames must not be fragmented): 1002
};

struct EndpointBehaviour {
  // --- The upgrade.
  // Reply to an upgrade with this HTTP status (401, 403, 503...) instead of 101,
  // for `refuse_fraction` of the valid upgrade requests. The choice is
  // deterministic and spread evenly: with 0.5 the 1st, 3rd, 5th... are refused,
  // with 0.25 the 1st, 5th, 9th... 0 never refuses.
  int refuse_status = 0;
  double refuse_fraction = 1.0;
  // Accept TCP (and TLS), read the request, never answer: a handshake timeout.
  bool never_answer = false;
  // Non-zero: the 101 response leaves one byte per interval (a slow upgrade).
  std::chrono::milliseconds response_byte_interval{0};

  // --- After the upgrade. Durations of zero switch the behaviour off.
  bool answer_pings = true;  // false: ignore pings (a half-open connection)
  std::chrono::milliseconds pong_delay{0};
  // End TCP with a FIN, no close frame, after this long without a frame from
  // the client, like nginx proxy_read_timeout.
  std::chrono::milliseconds idle_timeout{0};
  // false: only data frames count as activity (a balancer that ignores pings).
  bool pings_reset_idle = true;
  // End TCP without a close frame this long after the upgrade: a FIN, or an
  // RST (SO_LINGER 0) with drop_with_reset.
  std::chrono::milliseconds drop_after{0};
  bool drop_with_reset = false;
  // Send a close frame this long after the upgrade, then wait for the client's
  // close (at most 2 s) and end TCP. The n-th upgraded connection uses
  // close_codes[n % size]; no codes: a close frame with an empty payload, which
  // the client reports as 1005.
  std::chrono::milliseconds close_after{0};
  std::vector<int> close_codes;
  std::string close_reason;
  InvalidFrame invalid_frame = InvalidFrame::none;
  // A text frame right behind the server's close frame (close_after or
  // closeOpenConnections): data after a close frame, which a client ignores.
  bool data_after_close = false;
  // Non-zero: the server sends a ping (payload: a sequence number) this
  // often, a ping flood; the client's pongs are counted (pongsReceived()).
  std::chrono::milliseconds ping_flood_interval{0};
  bool echo = true;  // echo text and binary messages
  // Non-empty: answer every text message with this text instead of an echo,
  // like an application-level heartbeat ({"type":"pong"}).
  std::string reply_to_messages;

  // --- TLS: both set: serve wss:// with this PEM certificate (chain) and key.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// An HTTP request the endpoint read (upgrades, refused ones and bad ones alike,
// as long as the request head parsed).
struct SeenRequest {
  std::string method;
  std::string path;  // the request target as sent, query included
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The first value of a header (name in lower case), if present.
  std::optional<std::string> header(std::string_view lower_name) const;
};

class MisbehavingEndpoint {
 public:
  // Listens on host:port (port 0: an ephemeral one) and starts serving.
  // Throws std::runtime_error naming the step if it cannot listen or load the
  // TLS certificate.
  explicit MisbehavingEndpoint(EndpointBehaviour behaviour, std::string host = "127.0.0.1",
                               int port = 0);
  // Stops accepting, ends every connection (open ones get a best-effort close
  // frame 1001), joins every thread. Takes a few milliseconds.
  ~MisbehavingEndpoint();
  MisbehavingEndpoint(const MisbehavingEndpoint&) = delete;
  MisbehavingEndpoint& operator=(const MisbehavingEndpoint&) = delete;

  int port() const;
  // "ws://127.0.0.1:PORT/path" or "wss://..." when serving TLS.
  std::string url(std::string_view path = "/") const;

  // Scripted events on every upgraded connection open now.
  // A crash: end TCP without a close frame (FIN, or RST with `with_reset`).
  void dropOpenConnections(bool with_reset = false);
  // A restart: send a close frame with this code and reason, then end as after
  // close_after.
  void closeOpenConnections(int code, std::string reason = {});

  // What the server saw. Thread-safe; each call takes a snapshot.
  int connectionsAccepted() const;  // TCP accepts
  int upgradesCompleted() const;    // 101 responses sent
  int upgradesRefused() const;      // refuse_status responses sent
  int openConnections() const;      // upgraded and not yet ended
  // Stable ids (1, 2, ...) of the upgraded connections open now, in upgrade
  // order: the same id later proves that a connection survived something.
  std::vector<std::uint64_t> openConnectionIds() const;
  // Codes of the close frames clients sent, in arrival order; 1005 for an
  // empty payload.
  std::vector<int> closeCodesReceived() const;
  // Upgraded connections the client ended without a close frame (a 1006 as
  // the server sees it).
  int abnormalClosures() const;
  std::vector<SeenRequest> requests() const;
  int pingsReceived() const;
  int pongsSent() const;
  int pingsSent() const;       // ping_flood_interval's pings
  int pongsReceived() const;   // pongs from the client
  int messagesReceived() const;  // complete text and binary messages

  // Polls pred() with short sleeps until it is true or `timeout` passes;
  // returns its last value.
  bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsprobe::endpoints
