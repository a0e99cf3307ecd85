// One held connection: a session that connects, sends heartbeats, checks
// their answers, classifies its end and reconnects with backoff. Driven by
// the engine from the service thread: libwebsockets events and one deadline
// at a time. Times are passed in; nothing here reads a clock.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "connection_end.h"
#include "deadline_queue.h"
#include "engine.h"
#include "heartbeat_tracker.h"
#include "reconnect_backoff.h"

struct lws;

namespace wsprobe {

class HeldConnection;
struct ProbedTarget;

// What a connection needs from the engine that holds it.
class ConnectionHost {
 public:
  // Starts a client connection for `connection`; may report synchronously.
  virtual void connect(HeldConnection& connection) = 0;
  virtual void wakeAt(DeadlineQueue::Key key, Duration when) = 0;
  virtual double unitRandom() = 0;
  // Handshakes in flight are capped: true when `key` may start now (a place
  // is taken), false when it was queued; the host then calls
  // HeldConnection::onAdmitted once a place frees.
  virtual bool admitAttempt(DeadlineQueue::Key key) = 0;
  // An admitted attempt ended (opened, failed or abandoned): its place frees.
  virtual void attemptSettled() = 0;

 protected:
  ~ConnectionHost() = default;
};

class HeldConnection {
 public:
  using TimePoint = Duration;
  enum class Phase { waiting, connecting, open, closing };

  HeldConnection(ProbedTarget& target, ConnectionMode mode, DeadlineQueue::Key key,
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

  // libwebsockets events, in the order they can happen.
  void onTlsVerification(std::string_view problem);
  void onHandshakeRequestSent() { reached_http_ = true; }
  void onConnectError(TimePoint now, std::string_view message, int http_status);
  void onEstablished(TimePoint now);
  void onPong(std::string_view payload, TimePoint now);
  void onData(std::string_view data, bool final_fragment, TimePoint now);
  void onPeerClose(const unsigned char* payload, std::size_t length);
  void onProtocolViolation(int code) { seen_.protocol_close_code = code; }
  bool sawPeerClose() const { return seen_.server_close_code.has_value(); }
  // Returns false when the connection is to be closed now.
  bool onWritable(TimePoint now);
  // The connection ended (after open or during the handshake).
  void onClosed(TimePoint now, int http_status);
  // libwebsockets freed the wsi. Returns true when this connection is
  // finished with (detached and without a wsi) and may be deleted.
  bool onWsiDestroyed(lws* wsi, TimePoint now);

  // wsprobe closes the connection on purpose (cause agent).
  void closeByAgent(int code, TimePoint now);
  // The target is gone: report nothing more, never reconnect.
  void detach() { target_ = nullptr; }
  bool detached() const { return target_ == nullptr; }
  bool hasWsi() const { return wsi_ != nullptr; }

  ConnectionStatus status(TimePoint now) const;
  const ProbedTarget* target() const { return target_; }
  ConnectionMode mode() const { return mode_; }
  DeadlineQueue::Key key() const { return key_; }
  Phase phase() const { return phase_; }
  lws*& wsiSlot() { return wsi_; }

 private:
  void startAttempt(TimePoint now);
  void settleAttempt();
  void fail(TimePoint now, ConnectionFailure failure);
  void endOpen(TimePoint now);
  void scheduleRetry(TimePoint now);
  void scheduleWhileOpen(TimePoint now);
  void requestHeartbeat();
  void setAnswering(bool answering);
  void kill();

  ProbedTarget* target_;
  ConnectionMode mode_;
  DeadlineQueue::Key key_;
  ConnectionHost& host_;
  lws* wsi_ = nullptr;  // set while libwebsockets holds a connection for us
  Phase phase_ = Phase::waiting;

  TimePoint attempt_started_{};
  TimePoint opened_{};
  TimePoint next_heartbeat_{};
  TimePoint retry_at_{};
  bool replacing_ = false;     // the current attempt replaces an open connection
  bool reached_tls_ = false;   // the server's certificate was being checked
  bool reached_http_ = false;  // the upgrade request went out
  bool timed_out_ = false;     // our handshake deadline ended the attempt
  bool admitted_ = false;      // the current attempt holds a place among those in flight
  bool queued_ = false;        // waiting for such a place
  bool answering_ = false;     // a heartbeat was answered on this connection
  bool heartbeat_due_ = false;
  std::optional<int> close_code_to_send_;
  std::string tls_problem_;
  std::string received_message_;  // data frame being reassembled (message heartbeats)
  CloseObservation seen_;
  HeartbeatTracker heartbeats_;
  ReconnectBackoff backoff_;

  std::optional<Duration> last_rtt_;
  std::optional<ConnectionEnd> last_end_;
  std::optional<ConnectionFailure> last_failure_;
};

}  // namespace wsprobe
