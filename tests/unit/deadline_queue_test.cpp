#include <catch2/catch.hpp>

#include "probes/deadline_queue.h"

using namespace std::chrono_literals;
using wsprobe::DeadlineQueue;

TEST_CASE("deadlines come due in order", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(3, 30ms);
  queue.schedule(1, 10ms);
  queue.schedule(2, 20ms);
  CHECK(queue.next() == 10ms);
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(25ms, due);
  CHECK(due == std::vector<DeadlineQueue::Key>{1, 2});
  CHECK(queue.next() == 30ms);
}

TEST_CASE("rescheduling replaces the earlier deadline", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(7, 10ms);
  queue.schedule(7, 50ms);
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(20ms, due);
  CHECK(due.empty());
  CHECK(queue.next() == 50ms);
  queue.popDue(50ms, due);
  CHECK(due == std::vector<DeadlineQueue::Key>{7});
  CHECK_FALSE(queue.next().has_value());
}

TEST_CASE("cancelled keys never come due", "[unit]") {
  DeadlineQueue queue;
  queue.schedule(1, 10ms);
  queue.schedule(2, 10ms);
  queue.cancel(1);
  std::vector<DeadlineQueue::Key> due;
  queue.popDue(1s, due);
  CHECK(due == std::vector<DeadlineQueue::Key>{2});
}

TEST_CASE("stale entries do not pile up for keys rescheduled to the same time", "[unit]") {
  DeadlineQueue queue;
  std::vector<DeadlineQueue::Key> due;
  for (int round = 0; round < 100; ++round) {
    for (DeadlineQueue::Key key = 0; key < 100; ++key) queue.schedule(key, std::chrono::milliseconds(round));
    queue.popDue(std::chrono::milliseconds(round), due);
  }
  CHECK(due.size() == 100 * 100);
  CHECK(queue.heapSize() == 0);
}
