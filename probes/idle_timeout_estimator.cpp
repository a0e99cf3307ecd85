#include "idle_timeout_estimator.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

namespace wsprobe {

bool IdleTimeoutEstimator::counts(const ConnectionEnd& end) {
  return end.cause == CloseCause::abnormal || end.cause == CloseCause::server_close;
}

bool IdleTimeoutEstimator::observeEnd(const ConnectionEnd& end) {
  if (!counts(end)) return false;
  recent_.push_back(std::chrono::duration<double>(end.lifetime).count());
  if (recent_.size() > kAgreeing) recent_.pop_front();
  if (recent_.size() < kAgreeing) return false;
  const auto [shortest, longest] = std::minmax_element(recent_.begin(), recent_.end());
  if (*longest > *shortest * (1.0 + kTolerance)) return false;
  const double mean =
      std::accumulate(recent_.begin(), recent_.end(), 0.0) / static_cast<double>(recent_.size());
  const bool changed = estimate_ != mean;
  estimate_ = mean;
  return changed;
}

bool IdleTimeoutEstimator::observeSurvival() {
  // Lifetimes from before the path stopped timing out no longer describe it.
  recent_.clear();
  const double none = std::numeric_limits<double>::infinity();
  const bool changed = estimate_ != none;
  estimate_ = none;
  return changed;
}

}  // namespace wsprobe
