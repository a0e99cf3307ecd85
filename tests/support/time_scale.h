// Test deadlines under slow builds. Sanitized code runs several times slower
// than an optimised build, so scripts/run-sanitizers.sh sets
// WSPROBE_TEST_TIME_SCALE (a factor, e.g. 3) and every deadline the tests wait
// on (waitFor, runCommand, waitExit, HTTP requests) is multiplied by it. Only
// how long a test is willing to wait changes: the timings the tests configure
// and assert on do not.
#pragma once

#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>

namespace wsprobe::testing {

// WSPROBE_TEST_TIME_SCALE, or 1 when unset or not a number >= 1.
inline double timeScale() {
  static const double scale = [] {
    const char* text = std::getenv("WSPROBE_TEST_TIME_SCALE");
    if (text == nullptr) return 1.0;
    try {
      const double value = std::stod(text);
      return value >= 1.0 ? value : 1.0;
    } catch (const std::exception&) {
      return 1.0;
    }
  }();
  return scale;
}

// `timeout` times timeScale().
inline std::chrono::milliseconds scaled(std::chrono::milliseconds timeout) {
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(timeout.count()) * timeScale()));
}

}  // namespace wsprobe::testing
