#include <catch2/catch.hpp>

#include "probes/reconnect_backoff.h"

using namespace std::chrono_literals;
using wsprobe::Duration;
using wsprobe::ReconnectBackoff;

TEST_CASE("backoff ceiling grows by the multiplier and stops at the cap", "[unit]") {
  ReconnectBackoff backoff(1s, 30s, 2.0);
  const Duration expected[] = {1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s};
  for (const Duration ceiling : expected) {
    CHECK(backoff.ceiling() == ceiling);
    backoff.next(0.5);
  }
}

TEST_CASE("backoff draws with full jitter between zero and the ceiling", "[unit]") {
  ReconnectBackoff backoff(1s, 30s, 2.0);
  CHECK(backoff.next(0.0) == 0s);
  CHECK(backoff.next(0.5) == 1s);     // ceiling 2 s
  CHECK(backoff.next(0.999) < 4s);    // ceiling 4 s
  CHECK(backoff.next(0.999) > 7900ms);  // ceiling 8 s
}

TEST_CASE("backoff reset starts again from the initial delay", "[unit]") {
  ReconnectBackoff backoff(250ms, 10s, 3.0);
  for (int i = 0; i < 10; ++i) backoff.next(1.0);
  CHECK(backoff.ceiling() == 10s);
  backoff.reset();
  CHECK(backoff.ceiling() == 250ms);
  CHECK(backoff.failures() == 0);
}

TEST_CASE("backoff survives thousands of failures without overflow", "[unit]") {
  ReconnectBackoff backoff(1s, 30s, 10.0);
  for (int i = 0; i < 5000; ++i) backoff.next(1.0);
  CHECK(backoff.ceiling() == 30s);
  CHECK(backoff.next(1.0) == 30s);
}
