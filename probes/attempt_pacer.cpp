#include "probes/attempt_pacer.h"

#include <algorithm>
#include <cmath>

namespace wsprobe {

AttemptPacer::AttemptPacer(double per_second, int burst)
    : per_second_(std::max(per_second, 1e-9)), burst_(std::max(burst, 1)), tokens_(burst_) {}

void AttemptPacer::refill(TimePoint now) {
  if (refilled_at_ && now > *refilled_at_) {
    const double elapsed = std::chrono::duration<double>(now - *refilled_at_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
  }
  if (!refilled_at_ || now > *refilled_at_) refilled_at_ = now;
}

bool AttemptPacer::take(TimePoint now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

TimePoint AttemptPacer::nextFree(TimePoint now) {
  refill(now);
  if (tokens_ >= 1.0) return now;
  const double wait_s = (1.0 - tokens_) / per_second_;
  return now + Duration(static_cast<Duration::rep>(std::ceil(wait_s * 1e9)));
}

}  // namespace wsprobe
