// IdleTimeoutEstimator: lifetimes in, estimate out; no sockets, no clock.
#include "probes/idle_timeout_estimator.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace wsprobe;
using namespace std::chrono_literals;

namespace {

ConnectionEnd ended(Duration lifetime, CloseCause cause = CloseCause::abnormal,
                    int code = close_code::abnormal) {
  ConnectionEnd end;
  end.mode = ConnectionMode::idle;
  end.code = code;
  end.cause = cause;
  end.lifetime = lifetime;
  return end;
}

}  // namespace

TEST_CASE("idle timeout: unknown until three lifetimes agree within 5 %", "[unit]") {
  IdleTimeoutEstimator estimator;
  CHECK_FALSE(estimator.observeEnd(ended(60'000ms)));
  CHECK_FALSE(estimator.observeEnd(ended(60'100ms)));
  CHECK_FALSE(estimator.estimate());
  CHECK(estimator.observeEnd(ended(59'900ms)));
  REQUIRE(estimator.estimate());
  CHECK(*estimator.estimate() == Approx(60.0));
}

TEST_CASE("idle timeout: 5 % is the longest against the shortest, both edges", "[unit]") {
  IdleTimeoutEstimator within;
  within.observeEnd(ended(1000ms));
  within.observeEnd(ended(1050ms));
  within.observeEnd(ended(1020ms));
  REQUIRE(within.estimate());
  CHECK(*within.estimate() == Approx(1.0233).epsilon(0.001));

  IdleTimeoutEstimator beyond;
  beyond.observeEnd(ended(1000ms));
  beyond.observeEnd(ended(1051ms));
  beyond.observeEnd(ended(1020ms));
  CHECK_FALSE(beyond.estimate());
}

TEST_CASE("idle timeout: follows the last three when they agree on a new value", "[unit]") {
  IdleTimeoutEstimator estimator;
  for (int i = 0; i < 3; ++i) estimator.observeEnd(ended(30s));
  REQUIRE(*estimator.estimate() == Approx(30.0));
  // One odd end (a deploy, a network drop) neither hides nor moves it.
  CHECK_FALSE(estimator.observeEnd(ended(12s)));
  CHECK(*estimator.estimate() == Approx(30.0));
  CHECK_FALSE(estimator.observeEnd(ended(60s)));
  CHECK_FALSE(estimator.observeEnd(ended(60s)));
  CHECK(*estimator.estimate() == Approx(30.0));
  // The third at the new value: the path's timeout changed to 60 s.
  CHECK(estimator.observeEnd(ended(60s)));
  CHECK(*estimator.estimate() == Approx(60.0));
  // The same value again is no change to report.
  CHECK_FALSE(estimator.observeEnd(ended(60s)));
}

TEST_CASE("idle timeout: close frames from the server count, ends wsprobe caused do not", "[unit]") {
  CHECK(IdleTimeoutEstimator::counts(ended(1s, CloseCause::abnormal)));
  CHECK(IdleTimeoutEstimator::counts(ended(1s, CloseCause::server_close, 1000)));
  CHECK_FALSE(IdleTimeoutEstimator::counts(ended(1s, CloseCause::agent, 1001)));
  CHECK_FALSE(IdleTimeoutEstimator::counts(ended(1s, CloseCause::pong_timeout)));
  CHECK_FALSE(IdleTimeoutEstimator::counts(ended(1s, CloseCause::protocol_error, 1002)));

  IdleTimeoutEstimator estimator;
  estimator.observeEnd(ended(10s, CloseCause::server_close, 1001));
  estimator.observeEnd(ended(10s));
  // A shutdown or reload in between is not a short lifetime of the path.
  CHECK_FALSE(estimator.observeEnd(ended(2s, CloseCause::agent, 1001)));
  CHECK(estimator.observeEnd(ended(10s)));
  CHECK(*estimator.estimate() == Approx(10.0));
}

TEST_CASE("idle timeout: surviving to idle_probe_max reads +Inf at once, until three agree again", "[unit]") {
  IdleTimeoutEstimator estimator;
  CHECK(estimator.observeSurvival());
  REQUIRE(estimator.estimate());
  CHECK(std::isinf(*estimator.estimate()));
  CHECK(*estimator.estimate() > 0);
  CHECK_FALSE(estimator.observeSurvival());

  // A timeout appears on the path: the estimate follows once three agree.
  estimator.observeEnd(ended(100s));
  estimator.observeEnd(ended(100s));
  CHECK(std::isinf(*estimator.estimate()));
  CHECK(estimator.observeEnd(ended(101s)));
  CHECK(*estimator.estimate() == Approx(100.333).epsilon(0.001));

  // Lifetimes from before a survival are not combined with those after it.
  estimator.observeEnd(ended(50s));
  estimator.observeEnd(ended(50s));
  CHECK(estimator.observeSurvival());
  CHECK_FALSE(estimator.observeEnd(ended(50s)));
  CHECK(std::isinf(*estimator.estimate()));
}
