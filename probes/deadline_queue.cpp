#include "deadline_queue.h"

#include <algorithm>

namespace wsprobe {

namespace {

// Stale entries allowed beyond the live ones before a rebuild: keeps a small
// queue from being rebuilt on every few reschedules.
constexpr std::size_t kStaleSlack = 64;

}  // namespace

void DeadlineQueue::schedule(Key key, TimePoint when) {
  if (key >= generation_.size()) generation_.resize(key + 1, 0);
  if (generation_[key] == 0) ++scheduled_;
  const std::uint64_t generation = next_generation_++;
  generation_[key] = generation;
  heap_.push_back({when, key, generation});
  std::push_heap(heap_.begin(), heap_.end(), later);
  compactIfMostlyStale();
}

void DeadlineQueue::cancel(Key key) {
  if (key < generation_.size() && generation_[key] != 0) {
    generation_[key] = 0;
    --scheduled_;
  }
}

bool DeadlineQueue::live(const Entry &entry) const {
  return entry.key < generation_.size() && generation_[entry.key] == entry.generation;
}

void DeadlineQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
}

void DeadlineQueue::dropStale() {
  while (!heap_.empty() && !live(heap_.front())) pop();
}

// Without it the heap's size follows the stale entries (a pong deadline
// left behind by every answered ping), and the vector's capacity ratchets up
// to their highest count so far: the soak saw a 0.75 MB step after 17 min.
// Rebuilding costs O(n) once per O(n) pushes.
void DeadlineQueue::compactIfMostlyStale() {
  if (heap_.size() <= 2 * scheduled_ + kStaleSlack) return;
  std::erase_if(heap_, [this](const Entry &entry) { return !live(entry); });
  std::make_heap(heap_.begin(), heap_.end(), later);
}

std::optional<DeadlineQueue::TimePoint> DeadlineQueue::next() {
  dropStale();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

void DeadlineQueue::popDue(TimePoint now, std::vector<Key> &due) {
  for (dropStale(); !heap_.empty() && heap_.front().when <= now; dropStale()) {
    const Key key = heap_.front().key;
    generation_[key] = 0;
    --scheduled_;
    pop();
    due.push_back(key);
  }
}

}  // namespace wsprobe
