#include "metrics.h"

#include <algorithm>

namespace wsprobe {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
}  // namespace

MetricFamilies::MetricFamilies(prometheus::Registry& registry)
    : target_up(BuildGauge()
                    .Name("wsprobe_target_up")
                    .Help("1 while at least one heartbeat connection is open and answering.")
                    .Register(registry)),
      connections_open(BuildGauge()
                           .Name("wsprobe_connections_open")
                           .Help("Connections open now, by mode (heartbeat or idle).")
                           .Register(registry)),
      connections_desired(BuildGauge()
                              .Name("wsprobe_connections_desired")
                              .Help("Connections configured, by mode.")
                              .Register(registry)),
      connection_attempts(BuildCounter()
                              .Name("wsprobe_connection_attempts_total")
                              .Help("Connection attempts started.")
                              .Register(registry)),
      connection_failures(BuildCounter()
                              .Name("wsprobe_connection_failures_total")
                              .Help("Connection attempts that never opened, by stage (dns, "
                                    "tcp, tls, http, timeout, protocol, session, config) and "
                                    "status (HTTP status, or the protocol's code).")
                              .Register(registry)),
      reconnects(BuildCounter()
                     .Name("wsprobe_reconnects_total")
                     .Help("Attempts made to replace a connection that had been open.")
                     .Register(registry)),
      disconnects(BuildCounter()
                      .Name("wsprobe_disconnects_total")
                      .Help("Ends of open connections, by close code and cause.")
                      .Register(registry)),
      connection_lifetime(BuildHistogram()
                              .Name("wsprobe_connection_lifetime_seconds")
                              .Help("Open-to-close time of each ended connection.")
                              .Register(registry)),
      ping_rtt(BuildHistogram()
                   .Name("wsprobe_ping_rtt_seconds")
                   .Help("Heartbeat round-trip time.")
                   .Register(registry)),
      handshake_duration(BuildHistogram()
                             .Name("wsprobe_handshake_duration_seconds")
                             .Help("Time from connection start to 101 Switching Protocols.")
                             .Register(registry)),
      handshake_phase(BuildHistogram()
                          .Name("wsprobe_handshake_phase_seconds")
                          .Help("Time of each phase of the real connections' handshakes, by phase "
                                "(dns, tcp, tls, upgrade), for every attempt that got through it.")
                          .Register(registry)),
      idle_timeout(BuildGauge()
                       .Name("wsprobe_idle_timeout_seconds")
                       .Help("Estimated idle timeout of the path, from the idle connection.")
                       .Register(registry)),
      messages_received(BuildCounter()
                            .Name("wsprobe_messages_received_total")
                            .Help("Data frames received.")
                            .Register(registry)),
      messages_sent(BuildCounter()
                        .Name("wsprobe_messages_sent_total")
                        .Help("Data frames sent.")
                        .Register(registry)),
      app_rtt(BuildHistogram()
                  .Name("wsprobe_app_rtt_seconds")
                  .Help("Round trip of the application protocol's own request/reply (graphql-ws "
                        "ping/pong, MQTT PINGREQ/PINGRESP, Phoenix heartbeat, STOMP receipt, "
                        "acknowledged events).")
                  .Register(registry)),
      message_gap(BuildHistogram()
                      .Name("wsprobe_message_gap_seconds")
                      .Help("Time between consecutive server data messages on a connection.")
                      .Register(registry)),
      tcp_rtt(BuildHistogram()
                  .Name("wsprobe_tcp_rtt_seconds")
                  .Help("The kernel's smoothed TCP round-trip time (TCP_INFO), read at each "
                        "heartbeat answer.")
                  .Register(registry)),
      tcp_retransmits(BuildCounter()
                          .Name("wsprobe_tcp_retransmits_total")
                          .Help("TCP retransmissions on held connections (TCP_INFO).")
                          .Register(registry)),
      tls_certificate_expiry(
          BuildGauge()
              .Name("wsprobe_tls_certificate_expiry_timestamp_seconds")
              .Help("Earliest notAfter (unix time) in the certificate chain the wss:// server "
                    "presented at the last TLS handshake.")
              .Register(registry)),
      tls_info(BuildGauge()
                   .Name("wsprobe_tls_info")
                   .Help("TLS version and cipher last negotiated with the wss:// target; always 1.")
                   .Register(registry)),
      build_info(BuildGauge()
                     .Name("wsprobe_build_info")
                     .Help("Build information; the value is always 1.")
                     .Register(registry)),
      config_last_reload_successful(BuildGauge()
                                        .Name("wsprobe_config_last_reload_successful")
                                        .Help("Whether the last configuration load succeeded.")
                                        .Register(registry)),
      config_last_reload_success_timestamp(
          BuildGauge()
              .Name("wsprobe_config_last_reload_success_timestamp_seconds")
              .Help("Unix time of the last successful configuration load.")
              .Register(registry)),
      shard_info(BuildGauge()
                     .Name("wsprobe_shard_info")
                     .Help("Which share of the targets this agent holds (shard of shards); always 1.")
                     .Register(registry)) {}

const prometheus::Histogram::BucketBoundaries& lifetimeBuckets() {
  // Edges either side of the usual idle timeouts (60 s nginx/ALB, 100 s
  // Cloudflare, 120 s), so a cliff there shows in the histogram.
  static const prometheus::Histogram::BucketBoundaries buckets{
      1,   5,   10,  15,  30,  45,   55,   59,   61,   65,    90,    99,    101,
      110, 119, 121, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& rttBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& handshakeBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& messageGapBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return buckets;
}

namespace {
// Distinct failure statuses kept per target and stage before "other".
constexpr std::size_t kMaxStatuses = 16;
constexpr std::size_t kMaxStatusLength = 32;

std::string labelSafe(const std::string& status) {
  std::string out;
  for (const char c : status) {
    if (out.size() == kMaxStatusLength) break;
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.';
    out += safe ? c : '_';
  }
  return out;
}

prometheus::Labels baseLabels(const TargetSpec& spec, const std::string& location) {
  prometheus::Labels labels(spec.labels.begin(), spec.labels.end());
  labels["target"] = spec.name;
  if (!location.empty()) labels["location"] = location;
  return labels;
}
}  // namespace

prometheus::Labels TargetSeries::with(
    std::initializer_list<std::pair<const std::string, std::string>> extra) const {
  prometheus::Labels labels = labels_;
  for (const auto& [name, value] : extra) labels[name] = value;
  return labels;
}

TargetSeries::TargetSeries(MetricFamilies& families, const TargetSpec& spec,
                           const std::string& location)
    : up(families.target_up.Add(baseLabels(spec, location))),
      attempts(families.connection_attempts.Add(baseLabels(spec, location))),
      rtt(families.ping_rtt.Add(baseLabels(spec, location), rttBuckets())),
      handshake(families.handshake_duration.Add(baseLabels(spec, location), handshakeBuckets())),
      messages_received(families.messages_received.Add(baseLabels(spec, location))),
      messages_sent(families.messages_sent.Add(baseLabels(spec, location))),
      app_rtt(families.app_rtt.Add(baseLabels(spec, location), rttBuckets())),
      message_gap(families.message_gap.Add(baseLabels(spec, location), messageGapBuckets())),
      tcp_rtt(families.tcp_rtt.Add(baseLabels(spec, location), rttBuckets())),
      tcp_retransmits(families.tcp_retransmits.Add(baseLabels(spec, location))),
      families_(families),
      labels_(baseLabels(spec, location)) {
  for (const auto mode : {ConnectionMode::heartbeat, ConnectionMode::idle}) {
    const std::string name(toString(mode));
    open_[index(mode)] = &families.connections_open.Add(with({{"mode", name}}));
    desired_[index(mode)] = &families.connections_desired.Add(with({{"mode", name}}));
    reconnects_[index(mode)] = &families.reconnects.Add(with({{"mode", name}}));
    lifetime_[index(mode)] = &families.connection_lifetime.Add(with({{"mode", name}}), lifetimeBuckets());
  }
  for (const auto phase : {HandshakePhase::dns, HandshakePhase::tcp, HandshakePhase::tls, HandshakePhase::upgrade}) {
    phases_[static_cast<std::size_t>(phase)] =
        &families.handshake_phase.Add(with({{"phase", std::string(toString(phase))}}), handshakeBuckets());
  }
  desired(ConnectionMode::heartbeat).Set(spec.connections);
  desired(ConnectionMode::idle).Set(spec.idle_probe ? 1 : 0);
}

TargetSeries::~TargetSeries() {
  families_.target_up.Remove(&up);
  families_.connection_attempts.Remove(&attempts);
  families_.ping_rtt.Remove(&rtt);
  families_.handshake_duration.Remove(&handshake);
  for (auto* phase : phases_) families_.handshake_phase.Remove(phase);
  families_.messages_received.Remove(&messages_received);
  families_.messages_sent.Remove(&messages_sent);
  families_.app_rtt.Remove(&app_rtt);
  families_.message_gap.Remove(&message_gap);
  families_.tcp_rtt.Remove(&tcp_rtt);
  families_.tcp_retransmits.Remove(&tcp_retransmits);
  for (std::size_t i = 0; i < 2; ++i) {
    families_.connections_open.Remove(open_[i]);
    families_.connections_desired.Remove(desired_[i]);
    families_.reconnects.Remove(reconnects_[i]);
    families_.connection_lifetime.Remove(lifetime_[i]);
  }
  for (auto& [key, counter] : failures_) families_.connection_failures.Remove(counter);
  for (auto& [key, counter] : disconnects_) families_.disconnects.Remove(counter);
  if (idle_timeout_) families_.idle_timeout.Remove(idle_timeout_);
  if (tls_expiry_) families_.tls_certificate_expiry.Remove(tls_expiry_);
  if (tls_info_) families_.tls_info.Remove(tls_info_);
}

prometheus::Counter& TargetSeries::failures(FailureStage stage, const std::string& status) {
  std::string label = labelSafe(status);
  if (!failures_.count({stage, label})) {
    const auto same_stage = std::count_if(failures_.begin(), failures_.end(),
                                          [&](const auto& entry) { return entry.first.first == stage; });
    if (static_cast<std::size_t>(same_stage) >= kMaxStatuses) label = "other";
  }
  auto& counter = failures_[{stage, label}];
  if (!counter) {
    counter = &families_.connection_failures.Add(
        with({{"stage", std::string(toString(stage))}, {"status", label}}));
  }
  return *counter;
}

prometheus::Counter& TargetSeries::disconnects(ConnectionMode mode, int code, CloseCause cause) {
  auto& counter = disconnects_[{mode, code, cause}];
  if (!counter) {
    counter = &families_.disconnects.Add(with({{"mode", std::string(toString(mode))},
                                               {"code", std::to_string(code)},
                                               {"cause", std::string(toString(cause))}}));
  }
  return *counter;
}

void TargetSeries::clearIdleTimeout() {
  if (!idle_timeout_) return;
  families_.idle_timeout.Remove(idle_timeout_);
  idle_timeout_ = nullptr;
}

prometheus::Gauge& TargetSeries::idleTimeout() {
  if (!idle_timeout_) idle_timeout_ = &families_.idle_timeout.Add(labels_);
  return *idle_timeout_;
}

void TargetSeries::setTlsSession(const std::string& version, const std::string& cipher,
                                 std::optional<double> earliest_not_after) {
  if (earliest_not_after) {
    if (!tls_expiry_) tls_expiry_ = &families_.tls_certificate_expiry.Add(labels_);
    tls_expiry_->Set(*earliest_not_after);
  } else if (tls_expiry_) {
    families_.tls_certificate_expiry.Remove(tls_expiry_);
    tls_expiry_ = nullptr;
  }
  // Both come from OpenSSL's fixed tables, yet a label stays label-safe.
  std::pair<std::string, std::string> version_cipher{labelSafe(version), labelSafe(cipher)};
  if (tls_info_ && version_cipher == tls_version_cipher_) return;
  if (tls_info_) families_.tls_info.Remove(tls_info_);
  tls_info_ = &families_.tls_info.Add(
      with({{"version", version_cipher.first}, {"cipher", version_cipher.second}}));
  tls_info_->Set(1);
  tls_version_cipher_ = std::move(version_cipher);
}

}  // namespace wsprobe
