// Bookkeeping of one connection's heartbeats: which were sent when, which
// answer matches which, and whether an answer is overdue. Times are passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "target_spec.h"

namespace wsprobe {

class HeartbeatTracker {
 public:
  using TimePoint = wsprobe::TimePoint;

  // Records a heartbeat sent at `now`; returns its sequence number.
  std::uint64_t sent(TimePoint now);
  // The sequence number the next sent() takes (its payload is written
  // before its send time is known).
  std::uint64_t nextSequence() const { return next_sequence_; }
  // A ping payload tagged with `sequence`, so only our own pongs match.
  static std::string pingPayload(std::uint64_t sequence);
  // The sequence in a pong payload, if it is one of ours.
  static std::optional<std::uint64_t> parsePongPayload(std::string_view payload);

  // An answer to `sequence` arrived at `now`: its round trip, if it was
  // outstanding. Older outstanding heartbeats are settled with it (a pong
  // answers every ping before it, RFC 6455 section 5.5.3).
  std::optional<Duration> answered(std::uint64_t sequence, TimePoint now);
  // An answer that carries no tag (a matching data frame) answers the oldest.
  std::optional<Duration> answeredOldest(TimePoint now);

  // When the oldest outstanding heartbeat becomes overdue, if any.
  std::optional<TimePoint> deadline(Duration timeout) const;
  bool overdue(TimePoint now, Duration timeout) const;
  std::size_t outstanding() const { return outstanding_.size(); }
  std::uint64_t answeredCount() const { return answered_count_; }
  void clear() { outstanding_.clear(); }

 private:
  struct Sent {
    std::uint64_t sequence;
    TimePoint at;
  };
  // Oldest first. A vector, not a deque: an empty libstdc++ deque already
  // holds ~600 bytes, and rarely more than one heartbeat is outstanding.
  std::vector<Sent> outstanding_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t answered_count_ = 0;
};

}  // namespace wsprobe
