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
