#include "probes/probed_target.h"

#include "probes/heartbeat_schedule.h"
#include "probes/protocols/protocol_detection.h"

namespace wsprobe {

ProbedTarget::ProbedTarget(TargetSpec target_spec, std::shared_ptr<ProbeObserver> target_observer)
    : spec(std::move(target_spec)), observer(std::move(target_observer)) {
  protocol = findProtocol(spec.protocol);  // nullptr: "auto"
  // Offered in the upgrade: what the target configures, else what its
  // protocol's clients offer, else (auto) what the URL hints at.
  std::vector<std::string> offered = spec.subprotocols;
  if (offered.empty() && protocol) offered.assign(protocol->subprotocols.begin(), protocol->subprotocols.end());
  if (offered.empty() && !protocol) offered = autoSubprotocols(spec.url.path);
  for (std::size_t i = 0; i < offered.size(); ++i) {
    if (i) subprotocols_header += ", ";
    subprotocols_header += offered[i];
  }
  session_settings.session = nlohmann::json::parse(spec.session_json, nullptr, false);
  if (!session_settings.session.is_object()) session_settings.session = nlohmann::json::object();
  session_settings.subscribe = spec.subscribe;
  session_settings.heartbeat_interval = spec.ping_interval;
  session_settings.url_path = spec.url.path;
  const int count = spec.connections + (spec.idle_probe ? 1 : 0);
  phase_base_ = wsprobe::heartbeatPhase(spec.name, 0, 1, spec.ping_interval);
  phase_share_ = count > 0 ? spec.ping_interval / count : Duration::zero();
  if (spec.heartbeat == Heartbeat::message) {
    heartbeat_expect = std::make_unique<RE2>(spec.heartbeat_expect, RE2::Quiet);
  }
  observer->onOpenCount(ConnectionMode::heartbeat, 0);
  observer->onOpenCount(ConnectionMode::idle, 0);
  observer->onUp(false);
}

void ProbedTarget::connectionOpened(ConnectionMode mode) {
  observer->onOpenCount(mode, ++open_[static_cast<int>(mode)]);
}

void ProbedTarget::connectionClosed(ConnectionMode mode) {
  observer->onOpenCount(mode, --open_[static_cast<int>(mode)]);
}

void ProbedTarget::answeringChanged(int delta) {
  answering_ += delta;
  publishUp();
}

void ProbedTarget::idleConnectionEnded(const ConnectionEnd& end) {
  if (idle_timeout_.observeEnd(end)) observer->onIdleTimeoutEstimate(*idle_timeout_.estimate());
}

void ProbedTarget::idleConnectionSurvived() {
  if (idle_timeout_.observeSurvival()) observer->onIdleTimeoutEstimate(*idle_timeout_.estimate());
}

Duration ProbedTarget::heartbeatPhase(int index) const {
  if (spec.ping_interval <= Duration::zero()) return Duration::zero();
  return (phase_base_ + index * phase_share_) % spec.ping_interval;
}

void ProbedTarget::protocolDetected(std::string_view name) {
  if (protocol_in_use == name) return;
  protocol_in_use = std::string(name);
  observer->onProtocolDetected(name);
}

void ProbedTarget::publishUp() {
  if (up() == published_up_) return;
  published_up_ = up();
  observer->onUp(published_up_);
}

}  // namespace wsprobe
