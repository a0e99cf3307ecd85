// An application protocol spoken on top of a WebSocket connection (Socket.IO,
// graphql-ws, STOMP, MQTT, ...), as a pure codec: whole messages and the time
// come in; messages to send and session events go out through a SessionSink.
// No sockets, no clock, no libwebsockets: HeldConnection drives a codec, and
// unit tests drive it with transcripts written from the protocol's documents.
//
// One codec object per held connection, created when the upgrade (101)
// succeeds. It must stay small (the memory budget is 1 KB per connection over
// raw): what every connection of a target shares lives in SessionSettings,
// which the target owns and which outlives every codec made from it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/clock.h"

namespace wsprobe {

enum class MessageKind { text, binary };

// What every connection of one target shares: the target's configuration of
// its protocol, decoded once.
struct SessionSettings {
  // The target's `session` table as JSON (an object; keys already checked
  // against the protocol's table entry). Empty object when not configured.
  nlohmann::json session = nlohmann::json::object();
  // The target's `subscribe` list: what to subscribe to once the session is
  // ready (a Socket.IO event, a GraphQL subscription query, a STOMP
  // destination, an MQTT topic filter, a Phoenix topic, an ActionCable
  // channel, a raw text message).
  std::vector<std::string> subscribe;
  // How often the codec's own request/reply heartbeat goes out on heartbeat
  // connections (the target's ping_interval); each answer is an app RTT.
  Duration heartbeat_interval = std::chrono::seconds(20);
  // Path and query of the URL ("/socket.io/?EIO=4&transport=websocket").
  std::string url_path;
};

// What the codec is told when it starts, per connection.
struct SessionStart {
  // The subprotocol the server picked in its 101 (empty: none).
  std::string_view subprotocol;
  // True for the idle connection (`idle_probe`): it completes the session
  // handshake and answers the server's keepalives, and sends the keepalives
  // the server requires of a client (as a real idle client does), but no
  // heartbeat of its own and no subscription.
  bool idle = false;
};

// Where a codec's output goes. HeldConnection implements it; unit tests
// record it.
class SessionSink {
 public:
  // Send one WebSocket message (text or binary), in order.
  virtual void send(MessageKind kind, std::string_view payload) = 0;
  // The session is ready (the connect step was acknowledged): from now on the
  // connection counts as open. Called at most once.
  virtual void sessionReady() = 0;
  // The server refused or failed the session handshake: a connection failure
  // at stage `session`. `status` is the protocol's code or a short reason
  // ("connack_5", "error_frame", "4403", "unauthorized"); `detail` is for
  // logs (no secrets). Before sessionReady() only; the connection is closed.
  virtual void sessionRefused(std::string_view status, std::string_view detail) = 0;
  // A request/reply of the protocol's own completed (graphql-ws ping/pong,
  // MQTT PINGREQ/PINGRESP, Phoenix heartbeat, STOMP receipt, an
  // acknowledged event): its round trip, for wsprobe_app_rtt_seconds.
  virtual void appRoundTrip(Duration rtt) = 0;
  // A data message of the server arrived (an event, a subscription's next
  // value, a STOMP MESSAGE, an MQTT PUBLISH, ...); keepalives and replies do
  // not count. Feeds wsprobe_message_gap_seconds and the `stale` check.
  virtual void dataMessage() = 0;
  // The server broke the protocol after the session was ready, or ended the
  // session in-band (a Socket.IO DISCONNECT, a SignalR close message): the
  // connection is closed with `code` (1000 for an in-band end, 1002 for a
  // broken protocol). `detail` is for logs.
  virtual void sessionEnded(int code, std::string_view detail) = 0;

 protected:
  ~SessionSink() = default;
};

class SessionProtocol {
 public:
  virtual ~SessionProtocol() = default;

  // The upgrade succeeded at `now`: send what the official client sends first
  // (a CONNECT, connection_init, ...). Protocols whose session is ready at
  // once (raw) call sink.sessionReady() here.
  virtual void start(const SessionStart& start, TimePoint now, SessionSink& sink) = 0;
  // One whole message from the server (fragments already joined).
  virtual void receive(MessageKind kind, std::string_view payload, TimePoint now,
                       SessionSink& sink) = 0;
  // The time nextWake() asked for has come (or passed).
  virtual void tick(TimePoint now, SessionSink& sink) = 0;
  // When tick() must next run (a heartbeat to send, an answer overdue);
  // std::nullopt: no timer wanted.
  virtual std::optional<TimePoint> nextWake() const = 0;
};

}  // namespace wsprobe
