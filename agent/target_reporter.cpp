#include "target_reporter.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

namespace wsprobe {

namespace {
double seconds(Duration duration) { return std::chrono::duration<double>(duration).count(); }

std::string describe(const ConnectionFailure& failure) {
  if (failure.stage == FailureStage::http) return "HTTP " + std::to_string(failure.http_status);
  if (failure.stage == FailureStage::session) {
    return "session refused (" + failure.session_status + "): " + failure.detail;
  }
  return std::string(toString(failure.stage)) + ": " + failure.detail;
}
}  // namespace

TargetReporter::TargetReporter(MetricFamilies& families, const TargetSpec& spec,
                               const std::string& location, EventLog& events, Duration sample_interval)
    : name_(spec.name),
      series_(families, spec, location),
      events_(events),
      history_(Clock::now(), sample_interval, lifetimeBuckets()) {}

void TargetReporter::onAttempt(ConnectionMode mode, bool replacing) {
  series_.attempts.Increment();
  if (replacing) series_.reconnects(mode).Increment();
}

void TargetReporter::onFailure(ConnectionMode mode, const ConnectionFailure& failure) {
  series_.failures(failure.stage, failure.status()).Increment();
  ++failures_in_a_row_;
  spdlog::debug("connection attempt failed target={} mode={} stage={} status={:?} detail={:?}", name_,
                toString(mode), toString(failure.stage), failure.status(), failure.detail);
  if (failures_in_a_row_ == 3 && !up_) {
    spdlog::warn("target {} down after {} failed attempts: {}", name_, failures_in_a_row_,
                 describe(failure));
  }
  events_.add({ConnectionEvent::Kind::handshake_failure, std::chrono::system_clock::now(), name_,
               mode, std::nullopt, failure, std::nullopt});
}

void TargetReporter::onAppRoundTrip(Duration rtt) { series_.app_rtt.Observe(seconds(rtt)); }

void TargetReporter::onMessageGap(Duration gap) { series_.message_gap.Observe(seconds(gap)); }

void TargetReporter::onTcpPath(Duration smoothed_rtt, std::uint32_t new_retransmits) {
  series_.tcp_rtt.Observe(seconds(smoothed_rtt));
  if (new_retransmits > 0) series_.tcp_retransmits.Increment(new_retransmits);
}

void TargetReporter::onProtocolDetected(std::string_view protocol) {
  spdlog::info("target {} speaks {} (protocol = \"auto\" decided from the URL, the subprotocol "
               "and the server's first message)",
               name_, protocol);
}

void TargetReporter::onTlsSession(std::string_view version, std::string_view cipher,
                                  std::optional<double> earliest_not_after) {
  series_.setTlsSession(std::string(version), std::string(cipher), earliest_not_after);
}

void TargetReporter::onHandshakePhases(ConnectionMode /*mode*/, const HandshakePhases& phases) {
  for (const auto& [phase, time] : phases.completed) series_.handshakePhase(phase).Observe(seconds(time));
}

void TargetReporter::onOpen(ConnectionMode mode, Duration handshake) {
  series_.handshake.Observe(seconds(handshake));
  failures_in_a_row_ = 0;
  spdlog::debug("connection open target={} mode={} handshake={:.3f}s", name_, toString(mode),
                seconds(handshake));
  events_.add({ConnectionEvent::Kind::open, std::chrono::system_clock::now(), name_, mode,
               std::nullopt, std::nullopt, handshake});
}

void TargetReporter::onEnd(const ConnectionEnd& end) {
  series_.disconnects(end.mode, end.code, end.cause).Increment();
  series_.lifetime(end.mode).Observe(seconds(end.lifetime));
  spdlog::info("connection ended target={} mode={} code={} cause={} reason={:?} lifetime={:.3f}s",
               name_, toString(end.mode), end.code, toString(end.cause), end.reason,
               seconds(end.lifetime));
  const auto now = std::chrono::system_clock::now();
  events_.add({ConnectionEvent::Kind::close, now, name_, end.mode, end, std::nullopt, std::nullopt});
  std::lock_guard lock(summary_mutex_);
  summary_.last_end = end;
  summary_.last_end_at = now;
  history_.addEnd(Clock::now(), end.mode, end.lifetime);
}

void TargetReporter::onRoundTrip(Duration rtt) {
  series_.rtt.Observe(seconds(rtt));
  std::lock_guard lock(summary_mutex_);
  history_.addRoundTrip(Clock::now(), rtt);
}

void TargetReporter::onOpenCount(ConnectionMode mode, int open) {
  series_.open(mode).Set(open);
  std::lock_guard lock(summary_mutex_);
  history_.setOpen(Clock::now(), mode, open);
}

void TargetReporter::onUp(bool up) {
  series_.up.Set(up ? 1 : 0);
  if (up != up_) spdlog::info("target {} {}", name_, up ? "up" : "down");
  up_ = up;
}

void TargetReporter::onMessageSent() { series_.messages_sent.Increment(); }
void TargetReporter::onMessageReceived() { series_.messages_received.Increment(); }
void TargetReporter::onIdleTimeoutEstimate(double value) {
  series_.idleTimeout().Set(value);
  std::lock_guard lock(summary_mutex_);
  // A state change worth a line: first known, or moved by more than 5 %.
  const auto previous = summary_.idle_timeout_seconds;
  if (!previous || std::isinf(*previous) != std::isinf(value) || std::abs(value - *previous) > *previous * 0.05) {
    if (std::isinf(value)) {
      spdlog::info("target {}: no idle timeout on the path below idle_probe_max", name_);
    } else {
      spdlog::info("target {}: idle timeout of the path is about {:.1f}s", name_, value);
    }
  }
  summary_.idle_timeout_seconds = value;
}

void TargetReporter::reconfigure(const TargetSpec& spec) {
  series_.desired(ConnectionMode::heartbeat).Set(spec.connections);
  series_.desired(ConnectionMode::idle).Set(spec.idle_probe ? 1 : 0);
  series_.clearIdleTimeout();
  std::lock_guard lock(summary_mutex_);
  summary_.idle_timeout_seconds.reset();
}

TargetReporter::Summary TargetReporter::summary() const {
  std::lock_guard lock(summary_mutex_);
  return summary_;
}

StatusHistory::Snapshot TargetReporter::history(TimePoint now) {
  std::lock_guard lock(summary_mutex_);
  return history_.snapshot(now);
}

}  // namespace wsprobe
