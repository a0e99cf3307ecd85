#include <catch2/catch.hpp>

#include "agent/config.h"

using namespace wsprobe;
using namespace std::chrono_literals;

TEST_CASE("durations parse with units, alone or combined", "[unit]") {
  struct Case {
    const char* text;
    Duration expected;
  };
  const Case cases[] = {
      {"250ms", 250ms}, {"20s", 20s},     {"5m", 5min},      {"1h", 1h},      {"1m30s", 90s},
      {"1.5s", 1500ms}, {"100us", 100us}, {"7ns", 7ns},      {"2d", 48h},     {"0.25m", 15s},
      {"1h2m3s4ms", 1h + 2min + 3s + 4ms},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string error;
    const auto parsed = parseDuration(c.text, &error);
    REQUIRE(parsed);
    CHECK(*parsed == c.expected);
  }
}

TEST_CASE("bad durations are refused with a reason", "[unit]") {
  struct Case {
    const char* text;
    const char* message_part;
  };
  const Case cases[] = {
      {"", "empty"},        {"20", "needs a unit"}, {"-5s", "negative"}, {"5x", "needs a unit"},
      {"s", "invalid"},     {"1..5s", "invalid number"}, {"10s5", "needs a unit"},
      {"99999999999h", "too long"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string error;
    CHECK_FALSE(parseDuration(c.text, &error));
    CHECK_THAT(error, Catch::Contains(c.message_part));
  }
}

TEST_CASE("durations format in their largest whole units", "[unit]") {
  CHECK(formatDuration(0s) == "0s");
  CHECK(formatDuration(250ms) == "250ms");
  CHECK(formatDuration(20s) == "20s");
  CHECK(formatDuration(90s) == "1m30s");
  CHECK(formatDuration(1500ms) == "1.5s");
  CHECK(formatDuration(1h + 5s) == "1h5s");
  CHECK(formatDuration(15min) == "15m");
  for (const Duration d : {Duration(250ms), Duration(90s), Duration(1500ms), Duration(1h + 5s)}) {
    CHECK(parseDuration(formatDuration(d), nullptr) == d);
  }
}
