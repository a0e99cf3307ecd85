#include "heartbeat_tracker.h"

#include <charconv>

namespace wsprobe {

namespace {
constexpr std::string_view kPingTag = "wsprobe:";
// More outstanding than this means the peer is not answering at all; the
// pong deadline will end the connection, so older entries can go.
constexpr std::size_t kMaxOutstanding = 64;
}  // namespace

std::uint64_t HeartbeatTracker::sent(TimePoint now) {
  if (outstanding_.size() >= kMaxOutstanding) outstanding_.erase(outstanding_.begin());
  const std::uint64_t sequence = next_sequence_++;
  outstanding_.push_back({sequence, now});
  return sequence;
}

std::string HeartbeatTracker::pingPayload(std::uint64_t sequence) {
  return std::string(kPingTag) + std::to_string(sequence);
}

std::optional<std::uint64_t> HeartbeatTracker::parsePongPayload(std::string_view payload) {
  if (!payload.starts_with(kPingTag)) return std::nullopt;
  payload.remove_prefix(kPingTag.size());
  std::uint64_t sequence = 0;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), sequence);
  if (ec != std::errc() || end != payload.data() + payload.size()) return std::nullopt;
  return sequence;
}

std::optional<Duration> HeartbeatTracker::answered(std::uint64_t sequence, TimePoint now) {
  std::optional<Duration> rtt;
  auto settled = outstanding_.begin();
  for (; settled != outstanding_.end() && settled->sequence <= sequence; ++settled) {
    if (settled->sequence == sequence) rtt = now - settled->at;
  }
  outstanding_.erase(outstanding_.begin(), settled);
  if (rtt) ++answered_count_;
  return rtt;
}

std::optional<Duration> HeartbeatTracker::answeredOldest(TimePoint now) {
  if (outstanding_.empty()) return std::nullopt;
  const Duration rtt = now - outstanding_.front().at;
  outstanding_.erase(outstanding_.begin());
  ++answered_count_;
  return rtt;
}

std::optional<HeartbeatTracker::TimePoint> HeartbeatTracker::deadline(Duration timeout) const {
  if (outstanding_.empty()) return std::nullopt;
  return outstanding_.front().at + timeout;
}

bool HeartbeatTracker::overdue(TimePoint now, Duration timeout) const {
  const auto due = deadline(timeout);
  return due && now >= *due;
}

}  // namespace wsprobe
