#include "probes/held_connection.h"

#include <algorithm>
#include <array>

#include "probes/heartbeat_schedule.h"
#include "probes/probed_target.h"
#include "probes/protocols/protocol_detection.h"
#include "probes/protocols/protocol_table.h"

namespace wsprobe {

namespace {
// Largest data message kept whole (for heartbeat_expect and the application
// protocol's codec); longer messages are counted, and only their start is
// looked at.
constexpr std::size_t kMaxMessage = 64 * 1024;
// A receive buffer that grew past this is given back after the message, so
// an idle connection holds no large buffer.
constexpr std::size_t kKeptBuffer = 1024;
constexpr auto kCloseWait = std::chrono::milliseconds(1500);

std::string closePayload(int code) {
  return {static_cast<char>((code >> 8) & 0xff), static_cast<char>(code & 0xff)};
}
}  // namespace

HeldConnection::HeldConnection(ProbedTarget& target, ConnectionMode mode, int index,
                               DeadlineQueue::Key key, ConnectionHost& host)
    : target_(&target),
      mode_(mode),
      index_(index),
      key_(key),
      host_(host),
      // A target's herd reconnects spread over at least herdWindow().
      backoff_(std::max(target.spec.backoff_initial, herdWindow(target.spec.connections)),
               target.spec.backoff_max,
               target.spec.backoff_multiplier) {}

HeldConnection::~HeldConnection() { settleAttempt(); }

template <typename Call>
void HeldConnection::callSession(Call&& call) {
  in_session_call_ = true;
  call(*session_);
  in_session_call_ = false;
  if (session_dropped_) {
    session_dropped_ = false;
    session_.reset();
  }
}

void HeldConnection::dropSession() {
  // A codec that refuses or ends its session from inside its own call
  // (sessionRefused, sessionEnded) is freed once that call returned, not
  // under its feet.
  if (in_session_call_) {
    session_dropped_ = true;
  } else {
    session_.reset();
  }
}

HeldConnection::Past& HeldConnection::past() {
  if (!past_) past_ = std::make_unique<Past>();
  return *past_;
}

void HeldConnection::begin(TimePoint now) { startAttempt(now); }

bool HeldConnection::onAdmitted(TimePoint now) {
  if (!queued_ || detached() || phase_ != Phase::waiting) return false;
  queued_ = false;
  admitted_ = true;
  startAttempt(now);
  return true;
}

void HeldConnection::settleAttempt() {
  if (!admitted_) return;
  admitted_ = false;
  host_.attemptSettled();
}

void HeldConnection::startAttempt(TimePoint now) {
  if (!admitted_) {
    // Waiting for a place is not part of the attempt: the handshake time and
    // connect_timeout start when it really begins.
    if (queued_) return;
    if (!host_.admitAttempt(key_)) {
      queued_ = true;
      phase_ = Phase::waiting;
      return;
    }
    admitted_ = true;
  }
  phase_ = Phase::connecting;
  attempt_started_ = now;
  timed_out_ = detecting_ = resolving_ = false;
  lookup_time_.reset();
  phase_begun_ = HandshakePhase::dns;
  trace_.reset();
  tls_problem_.clear();
  subprotocol_.clear();
  seen_ = {};
  dropSession();
  outbox_.clear();
  target_->observer->onAttempt(mode_, replacing_);
  host_.wakeAt(key_, now + target_->spec.connect_timeout);
  if (auto failure = host_.prepareAttempt(*this)) return fail(now, std::move(*failure));
  host_.connect(*this);
  // No callback, no transport and no lookup: the attempt was refused outright.
  if (phase_ == Phase::connecting && wsi_ == nullptr && !resolving_) failHandshake(now, "connect failed", 0);
}

void HeldConnection::onDeadline(TimePoint now, Duration slack) {
  now_ = now;
  const TimePoint due_by = now + slack;
  if (detached()) {
    if (wsi_) kill();
    return;
  }
  switch (phase_) {
    case Phase::waiting:
      startAttempt(now);
      return;
    case Phase::connecting:
      if (due_by >= attempt_started_ + target_->spec.connect_timeout && !timed_out_) {
        timed_out_ = true;
        if (resolving_) {  // no transport to report the end: the lookup is abandoned here
          kill();
          failHandshake(now, "", 0);
          return;
        }
        kill();
      }
      // Should the transport not report the end, look again shortly.
      host_.wakeAt(key_, now + std::chrono::seconds(1));
      return;
    case Phase::session:
      if (due_by >= attempt_started_ + target_->spec.connect_timeout) {
        failSession(now, "timeout", "the session was not ready within connect_timeout");
        return;
      }
      if (session_) {
        if (const auto wake = session_->nextWake(); wake && due_by >= *wake) {
          callSession([&](SessionProtocol& session) { session.tick(now, *this); });
          afterSessionCall(now);
          if (phase_ != Phase::session) return;
        }
      }
      schedule(now);
      return;
    case Phase::open:
      if (mode_ == ConnectionMode::heartbeat &&
          heartbeats_.overdue(due_by, target_->spec.pong_timeout)) {
        seen_.pong_overdue = true;
        endOpen(now);
        phase_ = Phase::closing;
        kill();
        host_.wakeAt(key_, now + std::chrono::seconds(1));
        return;
      }
      if (mode_ == ConnectionMode::heartbeat && target_->spec.message_timeout > Duration::zero() &&
          due_by >= last_data_.value_or(opened_) + target_->spec.message_timeout) {
        seen_.stale_close_code = close_code::normal;
        closeTransport(close_code::normal, now);
        return;
      }
      if (detecting_ && due_by >= detect_until_) {
        // The server said nothing in time: raw it is.
        detecting_ = false;
        target_->protocolDetected(detectFromFirstMessage(target_->spec.url.path, std::nullopt));
      }
      if (mode_ == ConnectionMode::idle && due_by >= opened_ + target_->spec.idle_probe_max) {
        target_->idleConnectionSurvived();
        closeByAgent(close_code::normal, now);
        return;
      }
      if (mode_ == ConnectionMode::heartbeat && due_by >= next_heartbeat_) {
        // From the grid point itself: a wake-up within the slack before it
        // must not land on the same point again (a second ping at once).
        next_heartbeat_ = nextHeartbeatAt(std::max(now, next_heartbeat_), target_->spec.ping_interval,
                                          target_->heartbeatPhase(index_));
        requestHeartbeat(now);
      }
      if (session_) {
        if (const auto wake = session_->nextWake(); wake && due_by >= *wake) {
          callSession([&](SessionProtocol& session) { session.tick(now, *this); });
          afterSessionCall(now);
          if (phase_ != Phase::open) return;
        }
      }
      schedule(now);
      return;
    case Phase::closing:
      if (wsi_) kill();
      host_.wakeAt(key_, now + std::chrono::seconds(1));
      return;
  }
}

void HeldConnection::schedule(TimePoint now) {
  TimePoint next = now + std::chrono::hours(24);
  if (phase_ == Phase::session) {
    next = attempt_started_ + target_->spec.connect_timeout;
  } else if (mode_ == ConnectionMode::heartbeat) {
    next = next_heartbeat_;
    if (const auto due = heartbeats_.deadline(target_->spec.pong_timeout)) next = std::min(next, *due);
    if (target_->spec.message_timeout > Duration::zero()) {
      next = std::min(next, last_data_.value_or(opened_) + target_->spec.message_timeout);
    }
  } else {
    next = opened_ + target_->spec.idle_probe_max;
  }
  if (detecting_) next = std::min(next, detect_until_);
  if (session_) {
    if (const auto wake = session_->nextWake()) next = std::min(next, std::max(*wake, now));
  }
  host_.wakeAt(key_, next);
}

void HeldConnection::requestHeartbeat(TimePoint now) {
  heartbeat_due_ = true;
  if (!wsi_) return;
  // Straight from the deadline when the transport holds nothing of ours: a
  // writable round trip would stamp the ping one loop pass (and two epoll
  // updates) after it was due. Not once a close is under way in either
  // direction: nothing may follow a close frame.
  if (phase_ == Phase::open && !close_code_to_send_ && !sawPeerClose() && host_.writableNow(*this)) {
    if (!writeHeartbeat(now)) kill();
    return;
  }
  host_.requestWritable(*this);
}

bool HeldConnection::writeHeartbeat(TimePoint now) {
  heartbeat_due_ = false;
  const bool ping = target_->spec.heartbeat == Heartbeat::ping;
  // A ping's payload names its sequence; a message heartbeat is sent as configured (not copied).
  const std::string ping_payload = ping ? HeartbeatTracker::pingPayload(heartbeats_.nextSequence()) : std::string();
  const std::string_view payload = ping ? std::string_view(ping_payload) : target_->spec.heartbeat_message;
  const TimePoint read_before = host_.sendTime(now);
  if (!host_.write(*this, ping ? WireFrame::ping : WireFrame::text, payload)) return false;
  heartbeats_.sent(host_.sentAt(*this, read_before));
  if (!ping) target_->observer->onMessageSent();
  return true;
}

void HeldConnection::kill() {
  if (wsi_ || resolving_) host_.abort(*this);
  resolving_ = false;
}

void HeldConnection::onConnectionTrace(ConnectionTrace trace) {
  // The transport was handed the host's answer: the lookup's time is the host's.
  if (lookup_time_ && trace.dns != ConnectionTrace::Dns::not_asked) trace.dns_time = *lookup_time_;
  trace_ = std::make_unique<ConnectionTrace>(std::move(trace));
}

void HeldConnection::markPhase(HandshakePhase phase) {
  if (detached()) return;
  if (phase == HandshakePhase::tls && !target_->spec.url.secure) phase = HandshakePhase::upgrade;
  if (static_cast<int>(phase) > static_cast<int>(phase_begun_)) phase_begun_ = phase;
}

void HeldConnection::onTlsVerification(std::string_view problem) {
  markPhase(HandshakePhase::tls);
  if (!problem.empty()) tls_problem_ = std::string(problem);
}

HandshakePhases HeldConnection::endPhases(bool answered, TimePoint now) {
  HandshakePhases phases = handshakePhases(trace_ ? *trace_ : ConnectionTrace{}, phase_begun_, answered,
                                           target_->spec.url.secure, attempt_started_, now);
  trace_.reset();
  target_->observer->onHandshakePhases(mode_, phases);
  return phases;
}

void HeldConnection::onConnectError(TimePoint now, std::string_view message, int http_status) {
  wsi_ = nullptr;
  resolving_ = false;
  if (phase_ != Phase::connecting) return;
  std::string detail(message);
  if (!tls_problem_.empty()) detail = tls_problem_ + " (" + detail + ")";
  failHandshake(now, std::move(detail), http_status);
}

void HeldConnection::failHandshake(TimePoint now, std::string detail, int http_status) {
  ConnectionFailure failure;
  if (!detached()) {
    const HandshakePhases phases = endPhases(http_status != 0, now);
    failure.stage = failureStage(phases, http_status, timed_out_);
    failure.phase = phases.reached;
    if (failure.stage == FailureStage::http) failure.http_status = http_status;
    if (timed_out_ && failure.stage == FailureStage::dns) {
      // The resolver had not answered (the engine looks names up off the
      // service thread and abandons the lookup at our deadline).
      detail = "the name did not resolve within connect_timeout";
    } else if (detail.empty()) {
      const std::string phase(toString(phases.reached));
      switch (failure.stage) {
        case FailureStage::timeout: detail = "handshake timed out in the " + phase + " phase"; break;
        case FailureStage::http: detail = "upgrade refused"; break;
        default: detail = "connection closed in the " + phase + " phase, before the upgrade completed"; break;
      }
    }
  }
  failure.detail = std::move(detail);
  fail(now, std::move(failure));
}

void HeldConnection::fail(TimePoint now, ConnectionFailure failure) {
  settleAttempt();
  if (!detached()) target_->observer->onFailure(mode_, failure);
  past().failure = std::move(failure);
  scheduleRetry(now);
}

void HeldConnection::failSession(TimePoint now, std::string_view status, std::string detail) {
  settleAttempt();
  ConnectionFailure failure;
  failure.stage = FailureStage::session;
  failure.session_status = std::string(status);
  failure.detail = std::move(detail);
  if (!detached()) target_->observer->onFailure(mode_, failure);
  past().failure = std::move(failure);
  closeTransport(close_code::normal, now);
}

void HeldConnection::closeTransport(int code, TimePoint now) {
  if (phase_ == Phase::open) endOpen(now);
  phase_ = Phase::closing;
  dropSession();
  if (!wsi_) {
    scheduleRetry(now);
    return;
  }
  close_code_to_send_ = code;
  host_.requestWritable(*this);
  host_.wakeAt(key_, now + kCloseWait);
}

void HeldConnection::scheduleRetry(TimePoint now) {
  phase_ = Phase::waiting;
  dropSession();
  outbox_.clear();
  if (detached()) return;
  retry_at_ = now + backoff_.next(host_.unitRandom());
  host_.wakeAt(key_, retry_at_);
}

void HeldConnection::onEstablished(TimePoint now, std::string_view subprotocol) {
  now_ = now;
  if (detached() || phase_ != Phase::connecting) return;
  phase_ = Phase::session;
  upgraded_ = now;
  endPhases(true, now);
  received_message_.clear();
  message_truncated_ = false;
  utf8_.reset();
  if (!subprotocol.empty()) subprotocol_ = std::string(subprotocol);
  if (target_->protocol) {
    startSession(*target_->protocol, now);
  } else if (!target_->protocol_in_use.empty()) {
    startSession(target_->protocol_in_use, now);
  } else if (const auto decided = detectAtUpgrade(target_->spec.url.path, subprotocol_)) {
    startSession(*decided, now);
  } else {
    // Nothing to go by yet: the connection opens as raw, as it always did,
    // and the server's first message (Socket.IO, SockJS and ActionCable
    // servers speak first, at once) may still name another protocol. Once
    // decided, later connections speak it from their first byte.
    detecting_ = true;
    detect_until_ = now + kDetectionWindow;
    startSession("raw", now);
    if (phase_ != Phase::open) detecting_ = false;
  }
}

void HeldConnection::startSession(std::string_view protocol, TimePoint now) {
  const ProtocolEntry* entry = findProtocol(protocol);
  startSession(entry ? *entry : *findProtocol("raw"), now);
}

void HeldConnection::startSession(const ProtocolEntry& entry, TimePoint now) {
  if (!target_->protocol && !detecting_ && phase_ == Phase::session) target_->protocolDetected(entry.name);
  session_ = entry.make(target_->session_settings);
  callSession([&](SessionProtocol& session) {
    session.start({.subprotocol = subprotocol_, .idle = mode_ == ConnectionMode::idle}, now, *this);
  });
  afterSessionCall(now);
}

void HeldConnection::afterSessionCall(TimePoint now) {
  if (!outbox_.empty() && wsi_) host_.requestWritable(*this);
  if (phase_ == Phase::session || phase_ == Phase::open) schedule(now);
}

// SessionSink ---------------------------------------------------------------

void HeldConnection::send(MessageKind kind, std::string_view payload) {
  if (phase_ != Phase::session && phase_ != Phase::open) return;
  outbox_.emplace_back(kind, std::string(payload));
}

void HeldConnection::sessionReady() {
  if (phase_ != Phase::session) return;
  open(now_);
}

void HeldConnection::sessionRefused(std::string_view status, std::string_view detail) {
  if (phase_ == Phase::session) {
    failSession(now_, status, std::string(detail));
  } else if (phase_ == Phase::open) {
    sessionEnded(close_code::normal, detail);
  }
}

void HeldConnection::appRoundTrip(Duration rtt) {
  if (phase_ == Phase::open && !detached()) target_->observer->onAppRoundTrip(rtt);
}

void HeldConnection::dataMessage() {
  if (phase_ != Phase::open || detached()) return;
  if (last_data_) target_->observer->onMessageGap(now_ - *last_data_);
  last_data_ = now_;
}

void HeldConnection::sessionEnded(int code, std::string_view detail) {
  if (phase_ == Phase::session) {
    failSession(now_, std::to_string(code), std::string(detail));
    return;
  }
  if (phase_ != Phase::open) return;
  seen_.session_end_code = code;
  seen_.session_end_detail = std::string(detail);
  closeTransport(code == close_code::protocol_error ? code : close_code::normal, now_);
}

// ---------------------------------------------------------------------------

void HeldConnection::open(TimePoint now) {
  settleAttempt();
  if (detached()) return;
  phase_ = Phase::open;
  opened_ = now;
  last_data_.reset();
  replacing_ = false;
  heartbeats_.clear();
  target_->observer->onOpen(mode_, upgraded_ - attempt_started_);
  target_->connectionOpened(mode_);
  if (mode_ == ConnectionMode::heartbeat) {
    // On the connection's own phase, not at once: connections that open
    // together (a start, a reload, a mass reconnect) must not ping together.
    next_heartbeat_ =
        nextHeartbeatAt(now, target_->spec.ping_interval, target_->heartbeatPhase(index_));
  }
  schedule(now);
}

void HeldConnection::setAnswering(bool answering) {
  if (answering == answering_) return;
  answering_ = answering;
  if (!detached()) target_->answeringChanged(answering ? 1 : -1);
}

bool HeldConnection::heartbeatAnswered(Duration rtt, TimePoint now) {
  last_rtt_ = rtt;
  target_->observer->onRoundTrip(rtt);
  if (const auto tcp = host_.tcpStats(*this)) {
    const std::uint32_t new_retransmits =
        tcp->total_retransmits >= tcp_retransmits_ ? tcp->total_retransmits - tcp_retransmits_ : 0;
    tcp_retransmits_ = tcp->total_retransmits;
    target_->observer->onTcpPath(tcp->smoothed_rtt, new_retransmits);
  }
  setAnswering(true);
  schedule(now);
  return true;
}

void HeldConnection::onPong(std::string_view payload, TimePoint now) {
  now_ = now;
  if (phase_ != Phase::open || detached()) return;
  if (target_->spec.heartbeat != Heartbeat::ping) return;
  const auto sequence = HeartbeatTracker::parsePongPayload(payload);
  if (!sequence) return;  // unsolicited or not ours
  if (const auto rtt = heartbeats_.answered(*sequence, now)) heartbeatAnswered(*rtt, now);
}

void HeldConnection::onData(std::string_view data, MessageKind kind, bool first, bool final,
                            TimePoint now) {
  now_ = now;
  if (phase_ != Phase::session && phase_ != Phase::open) return;
  if (detached()) return;
  if (first) {
    received_message_.clear();
    message_truncated_ = false;
    message_kind_ = kind;
    utf8_.reset();
  }
  if (message_kind_ == MessageKind::text && !utf8_.feed(data)) {
    // RFC 6455 8.1: invalid UTF-8 in a text message fails the connection.
    seen_.protocol_close_code = close_code::invalid_payload;
    closeTransport(close_code::invalid_payload, now);
    return;
  }
  if (received_message_.size() < kMaxMessage) {
    received_message_.append(data.substr(0, kMaxMessage - received_message_.size()));
  }
  if (received_message_.size() >= kMaxMessage && data.size() > 0) message_truncated_ = true;
  if (!final) return;
  if (message_kind_ == MessageKind::text && !utf8_.finish()) {
    seen_.protocol_close_code = close_code::invalid_payload;
    closeTransport(close_code::invalid_payload, now);
    return;
  }
  const std::string message = std::move(received_message_);
  received_message_.clear();
  if (received_message_.capacity() > kKeptBuffer) received_message_.shrink_to_fit();
  deliver(message_kind_, message, now);
}

void HeldConnection::deliver(MessageKind kind, std::string_view message, TimePoint now) {
  target_->observer->onMessageReceived();
  if (phase_ == Phase::open && target_->heartbeat_expect && mode_ == ConnectionMode::heartbeat &&
      heartbeats_.outstanding() > 0 && RE2::PartialMatch(message, *target_->heartbeat_expect)) {
    if (const auto rtt = heartbeats_.answeredOldest(now)) heartbeatAnswered(*rtt, now);
    return;  // a heartbeat answer, not data
  }
  if (detecting_) {
    detecting_ = false;
    const std::string_view detected = detectFromFirstMessage(target_->spec.url.path, message);
    target_->protocolDetected(detected);
    // Switch from the provisional raw codec; this connection already counts
    // as open, so the new codec's "ready" changes nothing, and a refusal
    // ends it like any session end.
    if (detected != "raw") startSession(detected, now);
    if (phase_ != Phase::open) return;
  }
  if (!session_) return;
  callSession([&](SessionProtocol& session) { session.receive(kind, message, now, *this); });
  afterSessionCall(now);
}

void HeldConnection::onPeerClose(unsigned char* payload, std::size_t length) {
  const ClosePayload close = parseClosePayload(payload, length);
  seen_.server_close_code = close.code;
  seen_.server_reason = close.reason;
  // A code no peer may send fails the connection, and the echo carries 1002.
  // Our libwebsockets passes the code as it came on the wire (its own rewrite
  // of 999, 1004-1006 and 1016-2999 to 1002 comes after this callback:
  // scripts/debian-source/libwebsockets-close-code-to-callback.patch).
  if (length >= 2 && !isValidCloseCode(close.code)) {
    payload[0] = static_cast<unsigned char>(close_code::protocol_error >> 8);
    payload[1] = static_cast<unsigned char>(close_code::protocol_error & 0xff);
    seen_.protocol_close_code = close_code::protocol_error;
  }
}

bool HeldConnection::onWritable(TimePoint now) {
  now_ = now;
  if (!wsi_) return true;
  if (close_code_to_send_) {
    host_.write(*this, WireFrame::close, closePayload(*close_code_to_send_));
    return false;
  }
  if (phase_ != Phase::open && phase_ != Phase::session) return true;
  if (heartbeat_due_ && phase_ == Phase::open) {
    if (!writeHeartbeat(now)) return false;
    schedule(now);
  } else if (!outbox_.empty()) {
    // One frame per writable callback, in order.
    auto [kind, payload] = std::move(outbox_.front());
    outbox_.erase(outbox_.begin());
    if (!host_.write(*this, kind == MessageKind::text ? WireFrame::text : WireFrame::binary, payload)) {
      return false;
    }
    target_->observer->onMessageSent();
  }
  if (!outbox_.empty() || heartbeat_due_) host_.requestWritable(*this);
  return true;
}

void HeldConnection::endOpen(TimePoint now) {
  const ConnectionEnd end = classify(seen_, mode_, now - opened_);
  if (!detached()) {
    target_->observer->onEnd(end);
    target_->connectionClosed(mode_);
    if (mode_ == ConnectionMode::idle) target_->idleConnectionEnded(end);
  }
  setAnswering(false);
  // A connection that stayed open this long proved the path works again.
  if (end.lifetime >= target_->spec.backoff_max) backoff_.reset();
  past().end = end;
  replacing_ = true;
  heartbeats_.clear();
  heartbeat_due_ = false;
  last_data_.reset();
}

void HeldConnection::onClosed(TimePoint now, int http_status) {
  now_ = now;
  wsi_ = nullptr;
  if (phase_ != Phase::connecting && phase_ != Phase::session) settleAttempt();
  switch (phase_) {
    case Phase::connecting:
      failHandshake(now, {}, http_status);
      return;
    case Phase::session: {
      // The server ended the connection before the session was ready: a
      // refusal (graphql-ws 4403, 4408, ...) or a server that hangs up on
      // clients that do not speak its protocol.
      const int code = seen_.protocol_close_code.value_or(
          seen_.server_close_code.value_or(close_code::abnormal));
      std::string detail = "the server closed the connection before the session was ready";
      if (!seen_.server_reason.empty()) detail += ": " + seen_.server_reason;
      settleAttempt();
      ConnectionFailure failure;
      failure.stage = FailureStage::session;
      failure.session_status = std::to_string(code);
      failure.detail = std::move(detail);
      fail(now, std::move(failure));
      return;
    }
    case Phase::open:
      endOpen(now);
      scheduleRetry(now);
      return;
    case Phase::closing:
      close_code_to_send_.reset();
      scheduleRetry(now);
      return;
    case Phase::waiting:
      return;
  }
}

bool HeldConnection::onTransportDestroyed(lws* wsi, TimePoint now) {
  if (wsi_ == wsi && wsi_ != nullptr) onClosed(now, 0);
  return detached() && wsi_ == nullptr;
}

void HeldConnection::closeByAgent(int code, TimePoint now) {
  switch (phase_) {
    case Phase::open:
      seen_.agent_close_code = code;
      closeTransport(code, now);
      return;
    case Phase::session:
      settleAttempt();
      closeTransport(code, now);
      return;
    case Phase::connecting:
      phase_ = Phase::closing;
      kill();
      return;
    case Phase::waiting:
    case Phase::closing:
      return;
  }
}

ConnectionStatus HeldConnection::status(TimePoint now) const {
  ConnectionStatus status;
  status.mode = mode_;
  switch (phase_) {
    case Phase::waiting: status.state = "waiting"; break;
    case Phase::connecting: status.state = "connecting"; break;
    case Phase::session: status.state = "session"; break;
    case Phase::open: status.state = "open"; break;
    case Phase::closing: status.state = "closing"; break;
  }
  if (phase_ == Phase::open) status.age = now - opened_;
  if (phase_ == Phase::connecting || phase_ == Phase::session) status.age = now - attempt_started_;
  if (phase_ == Phase::waiting && retry_at_ > now) status.next_retry_in = retry_at_ - now;
  status.last_rtt = last_rtt_;
  if (past_) {
    status.last_end = past_->end;
    status.last_failure = past_->failure;
  }
  if (last_data_) status.last_message_age = now - *last_data_;
  return status;
}

}  // namespace wsprobe
