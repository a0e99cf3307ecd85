#include <algorithm>
#include <catch2/catch.hpp>

#include "probes/deadline_queue.h"

using namespace std::chrono_literals;
using wsprobe::DeadlineQueue;
constexpr auto at = wsprobe::atOffset;

TEST_CASE("deadlines come due in order", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(3, at(30ms));
  queue.schedule(1, at(10ms));
  queue.schedule(2, at(20ms));
  CHECK(queue.next() == at(10ms));
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(at(25ms), due);
  CHECK(due == std::vector<DeadlineQueue::Key>{1, 2});
  CHECK(queue.next() == at(30ms));
}

TEST_CASE("rescheduling replaces the earlier deadline", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(7, at(10ms));
  queue.schedule(7, at(50ms));
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(at(20ms), due);
  CHECK(due.empty());
  CHECK(queue.next() == at(50ms));
  queue.popDue(at(50ms), due);
  CHECK(due == std::vector<DeadlineQueue::Key>{7});
  CHECK_FALSE(queue.next().has_value());
}

TEST_CASE("cancelled keys never come due", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(1, at(10ms));
  queue.schedule(2, at(10ms));
  queue.cancel(1);
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(at(1s), due);
  CHECK(due == std::vector<DeadlineQueue::Key>{2});
}

TEST_CASE("stale entries do not pile up for keys rescheduled to the same time", "[unit]") {
  DeadlineQueue queue;
  std::vector<DeadlineQueue::Key> due;
  for (int round = 0; round < 100; ++round) {
    for (DeadlineQueue::Key key = 0; key < 100; ++key) queue.schedule(key, at(std::chrono::milliseconds(round)));
    queue.popDue(at(std::chrono::milliseconds(round)), due);
  }
  CHECK(due.size() == 100 * 100);
  CHECK(queue.heapSize() == 0);
}

// Each answered ping leaves its pong deadline behind as a stale entry; they
// used to stay until they surfaced, and the heap's capacity ratcheted up to
// their highest count (issue 10's soak: a 0.75 MB step after 17 minutes).
TEST_CASE("stale entries are dropped once they outnumber the live ones", "[unit]") {
  DeadlineQueue queue;
  constexpr DeadlineQueue::Key kKeys = 1000;
  std::size_t largest = 0;
  // Every key rescheduled 50 times to ever later deadlines: without the
  // rebuild, 50,000 entries with nothing due.
  for (int round = 1; round <= 50; ++round) {
    for (DeadlineQueue::Key key = 0; key < kKeys; ++key) {
      queue.schedule(key, at(std::chrono::seconds(round)));
      largest = std::max(largest, queue.heapSize());
    }
  }
  CHECK(queue.scheduled() == kKeys);
  CHECK(largest <= 2 * kKeys + 64 + 1);
  // Nothing live was lost in the rebuilds: every key comes due once, at its last deadline.
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(at(std::chrono::seconds(49)), due);
  CHECK(due.empty());
  queue.popDue(at(std::chrono::seconds(50)), due);
  CHECK(due.size() == kKeys);
  std::sort(due.begin(), due.end());
  CHECK(std::adjacent_find(due.begin(), due.end()) == due.end());
  CHECK(queue.scheduled() == 0);
  CHECK_FALSE(queue.next().has_value());
}

TEST_CASE("cancelling keeps the count of scheduled keys", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(1, at(10ms));
  queue.schedule(1, at(20ms));
  queue.schedule(2, at(10ms));
  CHECK(queue.scheduled() == 2);
  queue.cancel(1);
  queue.cancel(1);
  queue.cancel(99);
  CHECK(queue.scheduled() == 1);
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(at(1s), due);
  CHECK(due == std::vector<DeadlineQueue::Key>{2});
  CHECK(queue.scheduled() == 0);
}
