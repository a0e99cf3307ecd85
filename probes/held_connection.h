// One held connection: a session that connects, speaks the target's
// application protocol, sends heartbeats, checks their answers and that data
// keeps flowing, classifies its end and reconnects with backoff. Driven by
// the engine from the service thread through transport events and one
// deadline at a time; it acts on the transport only through ConnectionHost,
// so the whole state machine runs on simulated time in unit tests. Times
// are passed in; nothing here reads a clock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/connection_end.h"
#include "probes/deadline_queue.h"
#include "probes/engine.h"
#include "probes/handshake_phases.h"
#include "probes/heartbeat_tracker.h"
#include "probes/protocols/session_protocol.h"
#include "probes/reconnect_backoff.h"
#include "probes/utf8_validator.h"

struct lws;

namespace wsprobe {

class HeldConnection;
struct ProbedTarget;
struct ProtocolEntry;

// Frames a held connection writes.
enum class WireFrame { ping, text, binary, close };

// What the kernel says of a connection's TCP path (TCP_INFO).
struct TcpPathStats {
  Duration smoothed_rtt{};
  std::uint32_t total_retransmits = 0;
};

// What a connection needs from the engine that holds it.
class ConnectionHost {
 public:
  // Starts a client connection for `connection`; may report synchronously.
  virtual void connect(HeldConnection& connection) = 0;
  virtual void wakeAt(DeadlineQueue::Key key, TimePoint when) = 0;
  virtual double unitRandom() = 0;
  // Handshakes in flight are capped: true when `key` may start now (a place
  // is taken), false when it was queued; the host then calls
  // HeldConnection::onAdmitted once a place frees.
  virtual bool admitAttempt(DeadlineQueue::Key key) = 0;
  // An admitted attempt ended (opened, failed or abandoned): its place frees.
  virtual void attemptSettled() = 0;
  // The transport of a connection that has one: onWritable() will run.
  virtual void requestWritable(HeldConnection& connection) = 0;
  // Writes one frame; from onWritable(), or from a deadline when
  // writableNow() said so. For WireFrame::close the payload is the close code
  // (2 bytes, big-endian) and the connection's onWritable() then returns
  // false. False: the transport failed.
  virtual bool write(HeldConnection& connection, WireFrame frame, std::string_view payload) = 0;
  // Whether a frame may be written at once, outside onWritable(): nothing of
  // this connection is still buffered in the transport. False: the frame
  // waits for onWritable().
  virtual bool writableNow(HeldConnection& /*connection*/) { return false; }
  // A heartbeat's send time, on the clock of the event times, read just
  // before its write(). Not after: on loopback send() also delivers the
  // frame to the server (and may wake it) before it returns, so a stamp
  // after the write comes tens of microseconds after the frame was on the
  // wire (tests/integration/wire_truth_test.cpp). By default the time of the
  // event being handled.
  virtual TimePoint sendTime(TimePoint event_time) { return event_time; }
  // After a heartbeat's write(): when it left for the network, where the
  // transport knows it better than `read_before` (what sendTime() read): the
  // kernel's transmit stamp of the write. Never before read_before.
  virtual TimePoint sentAt(HeldConnection& /*connection*/, TimePoint read_before) { return read_before; }
  // Drops the transport now, without a close handshake.
  virtual void abort(HeldConnection& connection) = 0;
  // The kernel's view of the connection's TCP path, where it has one.
  virtual std::optional<TcpPathStats> tcpStats(HeldConnection& connection) = 0;
  // Before connect(): what the attempt needs that can fail before any
  // network (credentials read from files); a failure (stage config) ends the
  // attempt.
  virtual std::optional<ConnectionFailure> prepareAttempt(HeldConnection& /*connection*/) {
    return std::nullopt;
  }

 protected:
  ~ConnectionHost() = default;
};

class HeldConnection final : private SessionSink {
 public:
  // waiting: for a retry (or a place among the attempts in flight);
  // connecting: TCP, TLS and the upgrade; session: upgraded, the application
  // protocol's handshake (or its detection) under way; open: ready;
  // closing: wsprobe is closing it and waits for the transport to end.
  enum class Phase { waiting, connecting, session, open, closing };

  // `index` is the connection's place among its target's connections (the
  // idle connection comes last): it fixes the heartbeat phase.
  HeldConnection(ProbedTarget& target, ConnectionMode mode, int index, DeadlineQueue::Key key,
                 ConnectionHost& host);
  ~HeldConnection();
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;

  // Starts the first attempt now.
  void begin(TimePoint now);
  // A place for a queued attempt freed: start it now. False when this
  // connection no longer waits for one (the place was not taken).
  bool onAdmitted(TimePoint now);
  // The deadline this connection asked for has come, or will within `slack`:
  // deadlines that close are acted on now, so one wake-up serves many.
  void onDeadline(TimePoint now, Duration slack);

  // Transport events, in the order they can happen. The phase marks say
  // which handshake phase has begun (the lookup is under way from the start).
  // The host looks the name up before the transport starts (connect()
  // returned with a lookup under way), and says when it is done and what it
  // took (the connection monitor's own DNS time is then that of a handover).
  void onResolving() { resolving_ = true; }
  void onResolved(Duration took) {
    resolving_ = false;
    lookup_time_ = took;
  }
  void onTcpConnecting() { markPhase(HandshakePhase::tcp); }
  void onTcpConnected() { markPhase(HandshakePhase::tls); }  // upgrade for ws://
  void onTlsVerification(std::string_view problem);
  void onHandshakeRequestSent() { markPhase(HandshakePhase::upgrade); }
  // What the connection monitor recorded, just before the attempt opens
  // (onEstablished) or fails (onConnectError, onClosed).
  void onConnectionTrace(ConnectionTrace trace);
  void onConnectError(TimePoint now, std::string_view message, int http_status);
  // The 101's headers: the subprotocol the server picked (empty: none).
  void onUpgradeResponse(std::string_view subprotocol) { subprotocol_ = std::string(subprotocol); }
  // 101 Switching Protocols; `subprotocol`, when not empty, is the one the
  // server picked (else what onUpgradeResponse said).
  void onEstablished(TimePoint now, std::string_view subprotocol);
  void onPong(std::string_view payload, TimePoint now);
  // A piece of a data message. `first` and `final` mark the message's
  // first and last piece (fragments and chunks alike).
  void onData(std::string_view data, MessageKind kind, bool first, bool final, TimePoint now);
  // `payload` is libwebsockets' buffer, which it echoes: an invalid code is
  // replaced there by 1002.
  void onPeerClose(unsigned char* payload, std::size_t length);
  void onProtocolViolation(int code) { seen_.protocol_close_code = code; }
  bool sawPeerClose() const { return seen_.server_close_code.has_value(); }
  // Returns false when the connection is to be closed now.
  bool onWritable(TimePoint now);
  // The connection ended (after open or during the handshake).
  void onClosed(TimePoint now, int http_status);
  // The transport is gone for good. Returns true when this connection is
  // finished with (detached and without a transport) and may be deleted.
  bool onTransportDestroyed(lws* wsi, TimePoint now);

  // wsprobe closes the connection on purpose (cause agent).
  void closeByAgent(int code, TimePoint now);
  // The target is gone: report nothing more, never reconnect.
  void detach() { target_ = nullptr; }
  bool detached() const { return target_ == nullptr; }
  bool hasTransport() const { return wsi_ != nullptr; }
  bool resolving() const { return resolving_; }

  ConnectionStatus status(TimePoint now) const;
  const ProbedTarget* target() const { return target_; }
  ConnectionMode mode() const { return mode_; }
  DeadlineQueue::Key key() const { return key_; }
  Phase phase() const { return phase_; }
  // The transport handle the engine keeps here (libwebsockets' wsi); opaque
  // to this class.
  lws*& transportSlot() { return wsi_; }

 private:
  // SessionSink: what the application protocol's codec asks for.
  void send(MessageKind kind, std::string_view payload) override;
  void sessionReady() override;
  void sessionRefused(std::string_view status, std::string_view detail) override;
  void appRoundTrip(Duration rtt) override;
  void dataMessage() override;
  void sessionEnded(int code, std::string_view detail) override;

  void markPhase(HandshakePhase phase);
  // The phases of the attempt ending now (reported to the observer).
  HandshakePhases endPhases(bool answered, TimePoint now);
  // The attempt failed in the handshake: its stage follows from the phase reached.
  void failHandshake(TimePoint now, std::string detail, int http_status);
  void startAttempt(TimePoint now);
  void settleAttempt();
  void fail(TimePoint now, ConnectionFailure failure);
  void failSession(TimePoint now, std::string_view status, std::string detail);
  void open(TimePoint now);
  void endOpen(TimePoint now);
  void closeTransport(int code, TimePoint now);
  void scheduleRetry(TimePoint now);
  void schedule(TimePoint now);
  void requestHeartbeat(TimePoint now);
  bool writeHeartbeat(TimePoint now);
  void setAnswering(bool answering);
  void kill();
  // Every call into the codec goes through callSession; dropSession ends it.
  template <typename Call>
  void callSession(Call&& call);
  void dropSession();
  void startSession(std::string_view protocol, TimePoint now);
  void startSession(const ProtocolEntry& protocol, TimePoint now);
  void deliver(MessageKind kind, std::string_view message, TimePoint now);
  void afterSessionCall(TimePoint now);
  bool heartbeatAnswered(Duration rtt, TimePoint now);

  ProbedTarget* target_;
  ConnectionMode mode_;
  int index_;
  DeadlineQueue::Key key_;
  Phase phase_ = Phase::waiting;
  ConnectionHost& host_;
  lws* wsi_ = nullptr;  // set while the transport holds a connection for us

  TimePoint attempt_started_{};
  TimePoint upgraded_{};        // the 101 arrived
  TimePoint opened_{};          // the session became ready
  TimePoint next_heartbeat_{};
  TimePoint retry_at_{};
  TimePoint detect_until_{};    // protocol "auto": the first message's deadline
  std::optional<TimePoint> last_data_;  // the last server data message (open only)
  bool replacing_ = false;     // the current attempt replaces an open connection
  bool timed_out_ = false;     // our handshake deadline ended the attempt
  bool resolving_ = false;     // the host is looking the name up (no transport yet)
  std::optional<Duration> lookup_time_;  // what the host's lookup took, this attempt
  bool admitted_ = false;      // the current attempt holds a place among those in flight
  bool queued_ = false;        // waiting for such a place
  bool answering_ = false;     // a heartbeat was answered on this connection
  bool heartbeat_due_ = false;
  bool detecting_ = false;     // protocol "auto": waiting for the server's first message
  bool message_truncated_ = false;  // the message being received outgrew kMaxMessage
  bool in_session_call_ = false;   // inside a call into session_
  bool session_dropped_ = false;   // ended during that call: freed once it returns
  MessageKind message_kind_ = MessageKind::text;
  std::uint32_t tcp_retransmits_ = 0;  // TCP_INFO total at the last heartbeat answer
  HandshakePhase phase_begun_ = HandshakePhase::dns;  // the last phase the transport said began
  std::optional<int> close_code_to_send_;
  std::string tls_problem_;
  std::string subprotocol_;       // the one the server picked in its 101
  std::string received_message_;  // the data message being put together
  std::vector<std::pair<MessageKind, std::string>> outbox_;  // the codec's messages, in order
  std::unique_ptr<SessionProtocol> session_;  // the application protocol, once known
  // The connection monitor's record, from the handshake's end until it is
  // read a moment later: out of line, so a held connection does not carry it.
  std::unique_ptr<ConnectionTrace> trace_;
  Utf8Validator utf8_;
  CloseObservation seen_;
  HeartbeatTracker heartbeats_;
  ReconnectBackoff backoff_;
  TimePoint now_{};  // the time of the event being handled (for SessionSink calls)

  std::optional<Duration> last_rtt_;
  // How the last connection ended and the last attempt failed, for status():
  // out of line, since most held connections never end (144 bytes each).
  struct Past {
    std::optional<ConnectionEnd> end;
    std::optional<ConnectionFailure> failure;
  };
  std::unique_ptr<Past> past_;
  Past& past();
};

}  // namespace wsprobe
