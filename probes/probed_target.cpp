#include "probed_target.h"

namespace wsprobe {

ProbedTarget::ProbedTarget(TargetSpec target_spec, std::shared_ptr<ProbeObserver> target_observer)
    : spec(std::move(target_spec)), observer(std::move(target_observer)) {
  for (std::size_t i = 0; i < spec.subprotocols.size(); ++i) {
    if (i) subprotocols_header += ", ";
    subprotocols_header += spec.subprotocols[i];
  }
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

void ProbedTarget::publishUp() {
  if (up() == published_up_) return;
  published_up_ = up();
  observer->onUp(published_up_);
}

}  // namespace wsprobe
