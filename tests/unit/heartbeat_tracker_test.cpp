#include <catch2/catch.hpp>

#include "probes/heartbeat_tracker.h"

using namespace std::chrono_literals;
using wsprobe::HeartbeatTracker;
constexpr auto at = wsprobe::atOffset;

TEST_CASE("a pong's tag gives the round trip of its ping", "[unit]") {
  HeartbeatTracker tracker;
  const auto first = tracker.sent(at(1000ms));
  const auto payload = HeartbeatTracker::pingPayload(first);
  const auto parsed = HeartbeatTracker::parsePongPayload(payload);
  REQUIRE(parsed == first);
  CHECK(tracker.answered(*parsed, at(1003ms)) == 3ms);
  CHECK(tracker.outstanding() == 0);
  CHECK(tracker.answeredCount() == 1);
}

TEST_CASE("pongs that are not ours are ignored", "[unit]") {
  CHECK_FALSE(HeartbeatTracker::parsePongPayload(""));
  CHECK_FALSE(HeartbeatTracker::parsePongPayload("hello"));
  CHECK_FALSE(HeartbeatTracker::parsePongPayload("wsprobe:"));
  CHECK_FALSE(HeartbeatTracker::parsePongPayload("wsprobe:12x"));
  HeartbeatTracker tracker;
  tracker.sent(at(0ms));
  CHECK_FALSE(tracker.answered(99, at(5ms)));  // a sequence never sent
}

TEST_CASE("a late pong settles every ping before it", "[unit]") {
  HeartbeatTracker tracker;
  tracker.sent(at(0ms));
  const auto second = tracker.sent(at(100ms));
  tracker.sent(at(200ms));
  CHECK(tracker.answered(second, at(150ms)) == 50ms);
  CHECK(tracker.outstanding() == 1);
}

TEST_CASE("the oldest unanswered heartbeat sets the deadline", "[unit]") {
  HeartbeatTracker tracker;
  CHECK_FALSE(tracker.deadline(10s));
  tracker.sent(at(1s));
  tracker.sent(at(21s));
  CHECK(tracker.deadline(10s) == at(11s));
  CHECK_FALSE(tracker.overdue(at(10999ms), 10s));
  CHECK(tracker.overdue(at(11s), 10s));
}

TEST_CASE("untagged answers (data-frame heartbeats) settle the oldest", "[unit]") {
  HeartbeatTracker tracker;
  tracker.sent(at(0ms));
  tracker.sent(at(5ms));
  CHECK(tracker.answeredOldest(at(7ms)) == 7ms);
  CHECK(tracker.answeredOldest(at(9ms)) == 4ms);
  CHECK_FALSE(tracker.answeredOldest(at(10ms)));
}
