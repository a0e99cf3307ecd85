// The engine's timers: one pending wake-up per held connection, kept in a
// binary heap so scheduling is O(log n) however many connections there are.
// Rescheduling pushes a new entry; stale ones are skipped when they surface,
// and the heap is rebuilt from its live entries once the stale ones outnumber
// them, so it holds at most about twice the keys that have a deadline.
#pragma once

#include <cstdint>
#include <optional>
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
  void popDue(TimePoint now, std::vector<Key> &due);
  // Entries held, stale ones included.
  std::size_t heapSize() const { return heap_.size(); }
  // Keys that have a deadline.
  std::size_t scheduled() const { return scheduled_; }

 private:
  struct Entry {
    TimePoint when;
    Key key;
    std::uint64_t generation;
  };
  // std::*_heap put the greatest first: the latest deadline counts as least.
  static bool later(const Entry &a, const Entry &b) { return a.when > b.when; }
  bool live(const Entry &entry) const;
  void pop();
  void dropStale();
  void compactIfMostlyStale();

  std::vector<Entry> heap_;                // a min-heap by `when`
  std::vector<std::uint64_t> generation_;  // by key; 0 = nothing scheduled
  std::uint64_t next_generation_ = 1;
  std::size_t scheduled_ = 0;  // keys whose generation is not 0
};

}  // namespace wsprobe
