// The wsprobe_* metric families (names and buckets from SPEC.md), and the
// series of one target. Series are created once per target (or once per new
// label combination) and then updated through kept references.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "probes/connection_end.h"
#include "probes/target_spec.h"

namespace wsprobe {

class MetricFamilies {
 public:
  explicit MetricFamilies(prometheus::Registry& registry);

  prometheus::Family<prometheus::Gauge>& target_up;
  prometheus::Family<prometheus::Gauge>& connections_open;
  prometheus::Family<prometheus::Gauge>& connections_desired;
  prometheus::Family<prometheus::Counter>& connection_attempts;
  prometheus::Family<prometheus::Counter>& connection_failures;
  prometheus::Family<prometheus::Counter>& reconnects;
  prometheus::Family<prometheus::Counter>& disconnects;
  prometheus::Family<prometheus::Histogram>& connection_lifetime;
  prometheus::Family<prometheus::Histogram>& ping_rtt;
  prometheus::Family<prometheus::Histogram>& handshake_duration;
  prometheus::Family<prometheus::Histogram>& handshake_phase;
  prometheus::Family<prometheus::Gauge>& idle_timeout;
  prometheus::Family<prometheus::Counter>& messages_received;
  prometheus::Family<prometheus::Counter>& messages_sent;
  prometheus::Family<prometheus::Histogram>& app_rtt;
  prometheus::Family<prometheus::Histogram>& message_gap;
  prometheus::Family<prometheus::Histogram>& tcp_rtt;
  prometheus::Family<prometheus::Counter>& tcp_retransmits;
  prometheus::Family<prometheus::Gauge>& tls_certificate_expiry;
  prometheus::Family<prometheus::Gauge>& tls_info;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Family<prometheus::Gauge>& config_last_reload_successful;
  prometheus::Family<prometheus::Gauge>& config_last_reload_success_timestamp;
  prometheus::Family<prometheus::Gauge>& shard_info;
};

const prometheus::Histogram::BucketBoundaries& lifetimeBuckets();
const prometheus::Histogram::BucketBoundaries& rttBuckets();
const prometheus::Histogram::BucketBoundaries& handshakeBuckets();
const prometheus::Histogram::BucketBoundaries& messageGapBuckets();

// The series of one target. Removes them from the families when destroyed.
class TargetSeries {
 public:
  TargetSeries(MetricFamilies& families, const TargetSpec& spec, const std::string& location);
  ~TargetSeries();
  TargetSeries(const TargetSeries&) = delete;
  TargetSeries& operator=(const TargetSeries&) = delete;

  // The labels every series of this target carries.
  const prometheus::Labels& labels() const { return labels_; }

  prometheus::Gauge& up;
  prometheus::Gauge& open(ConnectionMode mode) { return *open_[index(mode)]; }
  prometheus::Gauge& desired(ConnectionMode mode) { return *desired_[index(mode)]; }
  prometheus::Counter& attempts;
  prometheus::Counter& reconnects(ConnectionMode mode) { return *reconnects_[index(mode)]; }
  prometheus::Histogram& lifetime(ConnectionMode mode) { return *lifetime_[index(mode)]; }
  prometheus::Histogram& rtt;
  prometheus::Histogram& handshake;
  // Each phase of the real connections' handshakes (DNS, TCP, TLS, upgrade).
  prometheus::Histogram& handshakePhase(HandshakePhase phase) { return *phases_[static_cast<std::size_t>(phase)]; }
  prometheus::Counter& messages_received;
  prometheus::Counter& messages_sent;
  prometheus::Histogram& app_rtt;
  prometheus::Histogram& message_gap;
  prometheus::Histogram& tcp_rtt;
  prometheus::Counter& tcp_retransmits;
  // Created on first use: one series per label combination that happened.
  // `status` comes from the network (an HTTP status, a protocol's code or
  // reason): it is cut to a label-safe word, and past a few distinct values
  // per target it becomes "other", so a hostile server cannot grow series.
  prometheus::Counter& failures(FailureStage stage, const std::string& status);
  prometheus::Counter& disconnects(ConnectionMode mode, int code, CloseCause cause);
  prometheus::Gauge& idleTimeout();
  // The estimate no longer holds (the target changed): the series goes.
  void clearIdleTimeout();
  // The TLS session last negotiated (wss:// only): the earliest notAfter of
  // the presented chain (empty: the series goes), and version and cipher as
  // labels of one series set to 1 (a new pair replaces the previous series).
  void setTlsSession(const std::string& version, const std::string& cipher,
                     std::optional<double> earliest_not_after);

 private:
  static std::size_t index(ConnectionMode mode) { return static_cast<std::size_t>(mode); }
  prometheus::Labels with(std::initializer_list<std::pair<const std::string, std::string>> extra) const;

  MetricFamilies& families_;
  prometheus::Labels labels_;
  prometheus::Gauge* open_[2];
  prometheus::Gauge* desired_[2];
  prometheus::Counter* reconnects_[2];
  prometheus::Histogram* lifetime_[2];
  prometheus::Histogram* phases_[4];
  std::map<std::pair<FailureStage, std::string>, prometheus::Counter*> failures_;
  std::map<std::tuple<ConnectionMode, int, CloseCause>, prometheus::Counter*> disconnects_;
  prometheus::Gauge* idle_timeout_ = nullptr;
  prometheus::Gauge* tls_expiry_ = nullptr;
  prometheus::Gauge* tls_info_ = nullptr;
  std::pair<std::string, std::string> tls_version_cipher_;
};

}  // namespace wsprobe
