#include "status_history.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace wsprobe {

// Fixed memory per target, as the header says (x86-64, LP64).
static_assert(sizeof(StatusSample) == 16);
static_assert(sizeof(void*) != 8 || sizeof(StatusHistory) == 3512);

namespace {

constexpr double kFirstRttBound = 25e-6;  // seconds

std::array<double, StatusHistory::kRttBuckets - 1> makeRttBounds() {
  std::array<double, StatusHistory::kRttBuckets - 1> bounds{};
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    bounds[i] = kFirstRttBound * std::exp2(static_cast<double>(i) / 4);
  }
  return bounds;
}

std::uint16_t clampCount(int value) {
  return static_cast<std::uint16_t>(std::clamp(value, 0, int{std::numeric_limits<std::uint16_t>::max()}));
}

// The bucket of `value`: the first whose upper bound is >= value.
std::size_t bucketOf(std::span<const double> upper_bounds, double value) {
  return static_cast<std::size_t>(std::lower_bound(upper_bounds.begin(), upper_bounds.end(), value) -
                                  upper_bounds.begin());
}

}  // namespace

double bucketQuantile(std::span<const double> upper_bounds, std::span<const std::uint32_t> counts, double q) {
  std::uint64_t total = 0;
  for (const auto count : counts) total += count;
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double lower = i == 0 ? 0.0 : upper_bounds[i - 1];
    if (i >= upper_bounds.size()) return lower;  // the overflow bucket has no upper bound
    if (static_cast<double>(below + counts[i]) >= rank) {
      const double upper = upper_bounds[i];
      const double within = (rank - static_cast<double>(below)) / counts[i];
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    below += counts[i];
  }
  return upper_bounds.empty() ? 0.0 : upper_bounds.back();  // not reached: rank <= total
}

std::span<const double> StatusHistory::rttBounds() {
  static const auto bounds = makeRttBounds();
  return bounds;
}

StatusHistory::StatusHistory(TimePoint start, Duration interval, std::span<const double> lifetime_bounds)
    : lifetime_bounds_(lifetime_bounds), next_close_(start + interval), interval_(interval) {
  assert(interval > Duration::zero());
  assert(lifetime_bounds.size() < kLifetimeSlots);
}

void StatusHistory::closeInterval() {
  StatusSample& sample = samples_[next_slot_];
  sample.rtt_p50_seconds = static_cast<float>(bucketQuantile(rttBounds(), rtt_counts_, 0.5));
  sample.rtt_p99_seconds = static_cast<float>(bucketQuantile(rttBounds(), rtt_counts_, 0.99));
  std::uint64_t pongs = 0;
  for (const auto count : rtt_counts_) pongs += count;
  sample.pongs = static_cast<std::uint16_t>(std::min<std::uint64_t>(pongs, 65535));
  sample.heartbeat_open = heartbeat_open_;
  sample.heartbeat_open_min = heartbeat_open_min_;
  sample.idle_open = idle_open_;
  next_slot_ = (next_slot_ + 1) % kCapacity;
  count_ = std::min(count_ + 1, kCapacity);
  rtt_counts_.fill(0);
  heartbeat_open_min_ = heartbeat_open_;
}

void StatusHistory::advanceTo(TimePoint now) {
  if (now < next_close_) return;
  const long long ended = (now - next_close_) / interval_ + 1;  // intervals that ended by now
  closeInterval();
  // Past a full ring of quiet intervals, older ones would be overwritten anyway.
  const long long quiet = std::min<long long>(ended - 1, kCapacity);
  for (long long i = 0; i < quiet; ++i) closeInterval();
  next_close_ += ended * interval_;
}

void StatusHistory::addRoundTrip(TimePoint now, Duration rtt) {
  advanceTo(now);
  const double value = std::chrono::duration<double>(rtt).count();
  std::uint32_t& count = rtt_counts_[bucketOf(rttBounds(), value)];
  if (count < std::numeric_limits<std::uint32_t>::max()) ++count;
}

void StatusHistory::setOpen(TimePoint now, ConnectionMode mode, int open) {
  advanceTo(now);
  if (mode == ConnectionMode::idle) {
    idle_open_ = clampCount(open);
    return;
  }
  heartbeat_open_ = clampCount(open);
  heartbeat_open_min_ = std::min(heartbeat_open_min_, heartbeat_open_);
}

void StatusHistory::addEnd(TimePoint now, ConnectionMode mode, Duration lifetime) {
  advanceTo(now);
  const double value = std::chrono::duration<double>(lifetime).count();
  std::uint32_t& count = lifetime_counts_[static_cast<std::size_t>(mode)][bucketOf(lifetime_bounds_, value)];
  if (count < std::numeric_limits<std::uint32_t>::max()) ++count;
}

StatusHistory::Snapshot StatusHistory::snapshot(TimePoint now) {
  advanceTo(now);
  Snapshot out;
  out.samples.reserve(count_);
  const std::size_t oldest = (next_slot_ + kCapacity - count_) % kCapacity;
  for (std::size_t i = 0; i < count_; ++i) out.samples.push_back(samples_[(oldest + i) % kCapacity]);
  out.newest_at = next_close_ - interval_;
  out.interval = interval_;
  out.lifetime_bounds = lifetime_bounds_;
  for (std::size_t mode = 0; mode < 2; ++mode) {
    out.lifetimes[mode].assign(
        lifetime_counts_[mode].begin(),
        lifetime_counts_[mode].begin() + static_cast<std::ptrdiff_t>(lifetime_bounds_.size() + 1));
  }
  return out;
}

}  // namespace wsprobe
