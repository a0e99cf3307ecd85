#include "deadline_queue.h"

namespace wsprobe {

void DeadlineQueue::schedule(Key key, TimePoint when) {
  if (key >= generation_.size()) generation_.resize(key + 1, 0);
  const std::uint64_t generation = next_generation_++;
  generation_[key] = generation;
  heap_.push({when, key, generation});
}

void DeadlineQueue::cancel(Key key) {
  if (key < generation_.size()) generation_[key] = 0;
}

bool DeadlineQueue::live(const Entry& entry) const {
  return entry.key < generation_.size() && generation_[entry.key] == entry.generation;
}

void DeadlineQueue::dropStale() {
  while (!heap_.empty() && !live(heap_.top())) heap_.pop();
}

std::optional<DeadlineQueue::TimePoint> DeadlineQueue::next() {
  dropStale();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().when;
}

void DeadlineQueue::popDue(TimePoint now, std::vector<Key>& due) {
  for (dropStale(); !heap_.empty() && heap_.top().when <= now; dropStale()) {
    const Key key = heap_.top().key;
    generation_[key] = 0;
    heap_.pop();
    due.push_back(key);
  }
}

}  // namespace wsprobe
