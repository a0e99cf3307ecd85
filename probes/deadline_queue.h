// The engine's timers: one pending wake-up per held connection, kept in a
// binary heap so scheduling is O(log n) however many connections there are.
// Rescheduling pushes a new entry; stale ones are skipped when they surface.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "target_spec.h"

namespace wsprobe {

class DeadlineQueue {
 public:
  using TimePoint = wsprobe::TimePoint;
  using Key = std::uint32_t;

  // Wake `key` at `when`, replacing any earlier request for it.
  void schedule(Key key, TimePoint when);
  void cancel(Key key);
  // The earliest live deadline, if any.
  std::optional<TimePoint> next();
  // Pops every key due at or before `now`, in deadline order, into `due`.
  void popDue(TimePoint now, std::vector<Key>& due);
  std::size_t heapSize() const { return heap_.size(); }

 private:
  struct Entry {
    TimePoint when;
    Key key;
    std::uint64_t generation;
    bool operator>(const Entry& other) const { return when > other.when; }
  };
  bool live(const Entry& entry) const;
  void dropStale();

  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::vector<std::uint64_t> generation_;  // by key; 0 = nothing scheduled
  std::uint64_t next_generation_ = 1;
};

}  // namespace wsprobe
