#include "held_connection.h"

#include <libwebsockets.h>

#include <algorithm>
#include <array>

#include "connect_failure.h"
#include "probed_target.h"

namespace wsprobe {

namespace {
// Largest data frame kept whole for matching heartbeat_expect; longer
// messages are counted but only their start is matched.
constexpr std::size_t kMaxMatchedMessage = 64 * 1024;
}  // namespace

HeldConnection::HeldConnection(ProbedTarget& target, ConnectionMode mode, DeadlineQueue::Key key,
                               ConnectionHost& host)
    : target_(&target),
      mode_(mode),
      key_(key),
      host_(host),
      backoff_(target.spec.backoff_initial, target.spec.backoff_max,
               target.spec.backoff_multiplier) {}

HeldConnection::~HeldConnection() { settleAttempt(); }

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
  reached_tls_ = reached_http_ = timed_out_ = false;
  tls_problem_.clear();
  seen_ = {};
  target_->observer->onAttempt(mode_, replacing_);
  host_.wakeAt(key_, now + target_->spec.connect_timeout);
  host_.connect(*this);
  // No callback and no wsi: libwebsockets refused the attempt outright.
  if (phase_ == Phase::connecting && wsi_ == nullptr) {
    fail(now, classifyConnectFailure("connect failed", 0, false, target_->spec.url.secure));
  }
}

void HeldConnection::onDeadline(TimePoint now, Duration slack) {
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
        kill();
      }
      // Should libwebsockets not report the end, look again shortly.
      host_.wakeAt(key_, now + std::chrono::seconds(1));
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
      if (mode_ == ConnectionMode::idle && due_by >= opened_ + target_->spec.idle_probe_max) {
        target_->idleConnectionSurvived();
        closeByAgent(close_code::normal, now);
        return;
      }
      if (mode_ == ConnectionMode::heartbeat && due_by >= next_heartbeat_) {
        // Keep to the grid the first heartbeat set, so slack does not drift.
        next_heartbeat_ = std::max(next_heartbeat_ + target_->spec.ping_interval,
                                   now + target_->spec.ping_interval / 2);
        requestHeartbeat();
      }
      scheduleWhileOpen(now);
      return;
    case Phase::closing:
      if (wsi_) kill();
      host_.wakeAt(key_, now + std::chrono::seconds(1));
      return;
  }
}

void HeldConnection::scheduleWhileOpen(TimePoint now) {
  TimePoint next = now + std::chrono::hours(24);
  if (mode_ == ConnectionMode::heartbeat) {
    next = next_heartbeat_;
    if (const auto due = heartbeats_.deadline(target_->spec.pong_timeout)) next = std::min(next, *due);
  } else {
    next = opened_ + target_->spec.idle_probe_max;
  }
  host_.wakeAt(key_, next);
}

void HeldConnection::requestHeartbeat() {
  heartbeat_due_ = true;
  if (wsi_) lws_callback_on_writable(wsi_);
}

void HeldConnection::kill() {
  if (wsi_) lws_set_timeout(wsi_, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void HeldConnection::onTlsVerification(std::string_view problem) {
  reached_tls_ = true;
  if (!problem.empty()) tls_problem_ = std::string(problem);
}

void HeldConnection::onConnectError(TimePoint now, std::string_view message, int http_status) {
  wsi_ = nullptr;
  if (phase_ != Phase::connecting) return;
  std::string detail(message);
  if (!tls_problem_.empty()) detail = tls_problem_ + " (" + detail + ")";
  ConnectionFailure failure =
      classifyConnectFailure(detail, http_status, timed_out_, target_->spec.url.secure);
  if (reached_tls_ && failure.stage != FailureStage::http && failure.stage != FailureStage::timeout &&
      !reached_http_) {
    failure.stage = FailureStage::tls;
  }
  fail(now, std::move(failure));
}

void HeldConnection::fail(TimePoint now, ConnectionFailure failure) {
  settleAttempt();
  if (!detached()) target_->observer->onFailure(mode_, failure);
  last_failure_ = std::move(failure);
  scheduleRetry(now);
}

void HeldConnection::scheduleRetry(TimePoint now) {
  phase_ = Phase::waiting;
  if (detached()) return;
  retry_at_ = now + backoff_.next(host_.unitRandom());
  host_.wakeAt(key_, retry_at_);
}

void HeldConnection::onEstablished(TimePoint now) {
  settleAttempt();
  if (detached()) return;
  phase_ = Phase::open;
  opened_ = now;
  replacing_ = false;
  heartbeats_.clear();
  received_message_.clear();
  target_->observer->onOpen(mode_, now - attempt_started_);
  target_->connectionOpened(mode_);
  if (mode_ == ConnectionMode::heartbeat) {
    // The first heartbeat goes out at once: RTT and "up" are known quickly.
    next_heartbeat_ = now + target_->spec.ping_interval;
    requestHeartbeat();
  }
  scheduleWhileOpen(now);
}

void HeldConnection::setAnswering(bool answering) {
  if (answering == answering_) return;
  answering_ = answering;
  if (!detached()) target_->answeringChanged(answering ? 1 : -1);
}

void HeldConnection::onPong(std::string_view payload, TimePoint now) {
  if (phase_ != Phase::open || detached()) return;
  if (target_->spec.heartbeat != Heartbeat::ping) return;
  const auto sequence = HeartbeatTracker::parsePongPayload(payload);
  if (!sequence) return;  // unsolicited or not ours
  if (const auto rtt = heartbeats_.answered(*sequence, now)) {
    last_rtt_ = rtt;
    target_->observer->onRoundTrip(*rtt);
    setAnswering(true);
    scheduleWhileOpen(now);
  }
}

void HeldConnection::onData(std::string_view data, bool final_fragment, TimePoint now) {
  if (phase_ != Phase::open || detached()) return;
  if (received_message_.size() < kMaxMatchedMessage) {
    received_message_.append(data.substr(0, kMaxMatchedMessage - received_message_.size()));
  }
  if (!final_fragment) return;
  target_->observer->onMessageReceived();
  if (target_->heartbeat_expect && mode_ == ConnectionMode::heartbeat &&
      heartbeats_.outstanding() > 0 &&
      RE2::PartialMatch(received_message_, *target_->heartbeat_expect)) {
    if (const auto rtt = heartbeats_.answeredOldest(now)) {
      last_rtt_ = rtt;
      target_->observer->onRoundTrip(*rtt);
      setAnswering(true);
      scheduleWhileOpen(now);
    }
  }
  received_message_.clear();
}

void HeldConnection::onPeerClose(const unsigned char* payload, std::size_t length) {
  const ClosePayload close = parseClosePayload(payload, length);
  seen_.server_close_code = close.code;
  seen_.server_reason = close.reason;
}

bool HeldConnection::onWritable(TimePoint now) {
  if (!wsi_) return true;
  if (close_code_to_send_) {
    lws_close_reason(wsi_, static_cast<lws_close_status>(*close_code_to_send_), nullptr, 0);
    return false;
  }
  if (!heartbeat_due_ || phase_ != Phase::open) return true;
  heartbeat_due_ = false;
  if (target_->spec.heartbeat == Heartbeat::ping) {
    std::array<unsigned char, LWS_PRE + 32> buffer{};
    const std::string payload = HeartbeatTracker::pingPayload(heartbeats_.sent(now));
    std::copy(payload.begin(), payload.end(), buffer.begin() + LWS_PRE);
    if (lws_write(wsi_, buffer.data() + LWS_PRE, payload.size(), LWS_WRITE_PING) < 0) return false;
  } else {
    const std::string& message = target_->spec.heartbeat_message;
    std::string buffer(LWS_PRE + message.size(), '\0');
    std::copy(message.begin(), message.end(), buffer.begin() + LWS_PRE);
    heartbeats_.sent(now);
    auto* data = reinterpret_cast<unsigned char*>(buffer.data()) + LWS_PRE;
    if (lws_write(wsi_, data, message.size(), LWS_WRITE_TEXT) < 0) return false;
    target_->observer->onMessageSent();
  }
  scheduleWhileOpen(now);
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
  last_end_ = end;
  replacing_ = true;
  heartbeats_.clear();
  heartbeat_due_ = false;
}

void HeldConnection::onClosed(TimePoint now, int http_status) {
  wsi_ = nullptr;
  if (phase_ != Phase::connecting) settleAttempt();  // (connecting: fail() settles)
  switch (phase_) {
    case Phase::connecting: {
      ConnectionFailure failure;
      if (timed_out_) {
        failure = classifyConnectFailure("handshake timed out", http_status, true, false);
      } else if (http_status != 0 && http_status != 101) {
        failure = classifyConnectFailure("upgrade refused", http_status, false, false);
      } else if (reached_http_) {
        failure = {FailureStage::protocol, 0, "connection closed before the upgrade completed"};
      } else {
        failure = {FailureStage::tcp, 0, "connection closed before the upgrade request"};
      }
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

bool HeldConnection::onWsiDestroyed(lws* wsi, TimePoint now) {
  if (wsi_ == wsi && wsi_ != nullptr) onClosed(now, 0);
  return detached() && wsi_ == nullptr;
}

void HeldConnection::closeByAgent(int code, TimePoint now) {
  switch (phase_) {
    case Phase::open:
      seen_.agent_close_code = code;
      endOpen(now);
      close_code_to_send_ = code;
      phase_ = Phase::closing;
      if (wsi_) lws_callback_on_writable(wsi_);
      host_.wakeAt(key_, now + std::chrono::milliseconds(1500));
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
    case Phase::open: status.state = "open"; break;
    case Phase::closing: status.state = "closing"; break;
  }
  if (phase_ == Phase::open) status.age = now - opened_;
  if (phase_ == Phase::connecting) status.age = now - attempt_started_;
  if (phase_ == Phase::waiting && retry_at_ > now) status.next_retry_in = retry_at_ - now;
  status.last_rtt = last_rtt_;
  status.last_end = last_end_;
  status.last_failure = last_failure_;
  return status;
}

}  // namespace wsprobe
