#include <catch2/catch.hpp>

#include "probes/connect_failure.h"

using namespace wsprobe;

TEST_CASE("failed attempts are put at the stage they stopped at", "[unit]") {
  struct Case {
    const char* message;
    int status;
    bool timed_out;
    bool secure;
    FailureStage stage;
  };
  const std::vector<Case> cases = {
      {"HS: ws upgrade response not 101", 503, false, false, FailureStage::http},
      {"whatever", 401, false, true, FailureStage::http},
      {"getaddrinfo failed", 0, false, false, FailureStage::dns},
      {"connect failed", 0, false, false, FailureStage::tcp},
      {"Connection refused", 0, false, true, FailureStage::tcp},
      {"SSL handshake failed", 0, false, true, FailureStage::tls},
      {"HS: Accept hash wrong", 0, false, false, FailureStage::protocol},
      {"anything", 0, true, false, FailureStage::timeout},
      {"anything", 503, true, false, FailureStage::timeout},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    const auto failure = classifyConnectFailure(c.message, c.status, c.timed_out, c.secure);
    CHECK(failure.stage == c.stage);
    CHECK(failure.detail == c.message);
  }
  CHECK(classifyConnectFailure("x", 403, false, false).http_status == 403);
  CHECK(classifyConnectFailure("connect failed", 0, false, false).http_status == 0);
}
