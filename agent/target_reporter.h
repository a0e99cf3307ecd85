// Turns what the engine measures for one target into metrics and log lines.
// Called on the engine's service thread only.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/event_log.h"
#include "agent/metrics.h"
#include "agent/status_history.h"
#include "probes/probe_observer.h"

namespace wsprobe {

class TargetReporter final : public ProbeObserver {
 public:
  // `sample_interval`: of the status page's history (StatusHistory: 180
  // samples, the page's charts cover 180 intervals).
  TargetReporter(MetricFamilies& families, const TargetSpec& spec, const std::string& location,
                 EventLog& events, Duration sample_interval = std::chrono::seconds(10));

  void onAttempt(ConnectionMode mode, bool replacing) override;
  void onFailure(ConnectionMode mode, const ConnectionFailure& failure) override;
  void onHandshakePhases(ConnectionMode mode, const HandshakePhases& phases) override;
  void onOpen(ConnectionMode mode, Duration handshake) override;
  void onEnd(const ConnectionEnd& end) override;
  void onRoundTrip(Duration rtt) override;
  void onOpenCount(ConnectionMode mode, int open) override;
  void onUp(bool up) override;
  void onMessageSent() override;
  void onMessageReceived() override;
  void onIdleTimeoutEstimate(double seconds) override;
  void onAppRoundTrip(Duration rtt) override;
  void onMessageGap(Duration gap) override;
  void onTcpPath(Duration smoothed_rtt, std::uint32_t new_retransmits) override;
  void onProtocolDetected(std::string_view protocol) override;
  void onTlsSession(std::string_view version, std::string_view cipher,
                    std::optional<double> earliest_not_after) override;

  // The target changed but keeps its series (same labels): the configured
  // counts follow the new spec, and an idle-timeout estimate of the old path
  // or settings is dropped. Call while the engine does not hold the target.
  void reconfigure(const TargetSpec& spec);

  const TargetSeries& series() const { return series_; }

  // What the status page and /api/v1/targets show beyond the engine's
  // status. Safe to call from any thread.
  struct Summary {
    std::optional<double> idle_timeout_seconds;  // once estimated; +Inf: none found
    std::optional<ConnectionEnd> last_end;       // the most recent end of any connection
    std::optional<std::chrono::system_clock::time_point> last_end_at;
  };
  Summary summary() const;
  // The status page's charts: samples up to `now`. Safe from any thread.
  StatusHistory::Snapshot history(TimePoint now);

 private:
  std::string name_;
  TargetSeries series_;
  EventLog& events_;
  int failures_in_a_row_ = 0;  // for the "down after N failed attempts" log line
  bool up_ = false;
  mutable std::mutex summary_mutex_;  // the service thread writes, HTTP threads read
  Summary summary_;
  // Fed from the observer calls, read by the status page; under summary_mutex_.
  // Fixed size: see StatusHistory (about 3.5 KB per target).
  StatusHistory history_;
};

}  // namespace wsprobe
