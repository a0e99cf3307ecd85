#include <catch2/catch.hpp>

#include <prometheus/text_serializer.h>

#include <sstream>

#include "agent/metrics.h"

using namespace wsprobe;

namespace {
std::string render(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}
}  // namespace

TEST_CASE("a target's series carry its name, location and static labels", "[unit]") {
  prometheus::Registry registry;
  MetricFamilies families(registry);
  TargetSpec spec;
  spec.name = "chat";
  spec.connections = 2;
  spec.labels = {{"team", "realtime"}};
  TargetSeries series(families, spec, "fra1");
  series.disconnects(ConnectionMode::heartbeat, 1006, CloseCause::abnormal).Increment();
  series.failures(FailureStage::http, "503").Increment();
  series.failures(FailureStage::tcp, "").Increment();
  const std::string text = render(registry);
  CHECK_THAT(text, Catch::Contains(
                       R"(wsprobe_connections_desired{location="fra1",mode="heartbeat",target="chat",team="realtime"} 2)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(wsprobe_disconnects_total{cause="abnormal",code="1006",location="fra1",mode="heartbeat",target="chat",team="realtime"} 1)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(wsprobe_connection_failures_total{location="fra1",stage="http",status="503",target="chat",team="realtime"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(stage="tcp",status="",target="chat")"));
  CHECK_THAT(text, Catch::Contains(
      R"(wsprobe_connection_lifetime_seconds_bucket{location="fra1",mode="heartbeat",target="chat",team="realtime",le="59"} 0)"));
}

TEST_CASE("the same label combination is one series", "[unit]") {
  prometheus::Registry registry;
  MetricFamilies families(registry);
  TargetSpec spec;
  spec.name = "a";
  TargetSeries series(families, spec, "");
  auto& first = series.disconnects(ConnectionMode::idle, 1006, CloseCause::abnormal);
  auto& again = series.disconnects(ConnectionMode::idle, 1006, CloseCause::abnormal);
  CHECK(&first == &again);
  CHECK_THAT(render(registry), !Catch::Contains("location="));
}

TEST_CASE("a removed target's series disappear", "[unit]") {
  prometheus::Registry registry;
  MetricFamilies families(registry);
  TargetSpec spec;
  spec.name = "gone";
  {
    TargetSeries series(families, spec, "");
    series.disconnects(ConnectionMode::heartbeat, 1000, CloseCause::agent).Increment();
    series.idleTimeout().Set(60);
    CHECK_THAT(render(registry), Catch::Contains(R"(target="gone")"));
  }
  CHECK_THAT(render(registry), !Catch::Contains(R"(target="gone")"));
}

TEST_CASE("histogram buckets are SPEC's", "[unit]") {
  CHECK(lifetimeBuckets().size() == 26);
  CHECK(lifetimeBuckets().front() == 1);
  CHECK(lifetimeBuckets().back() == 86400);
  CHECK(rttBuckets().size() == 14);
  CHECK(rttBuckets().front() == 0.0005);
  CHECK(handshakeBuckets().size() == 11);
}

TEST_CASE("failure statuses from the network are label-safe and bounded per target", "[unit]") {
  prometheus::Registry registry;
  MetricFamilies families(registry);
  TargetSpec spec;
  spec.name = "hostile";
  TargetSeries series(families, spec, "");
  series.failures(FailureStage::session, "bad\"reason\n{x}").Increment();
  for (int i = 0; i < 100; ++i) series.failures(FailureStage::session, std::to_string(4000 + i)).Increment();
  const std::string text = render(registry);
  CHECK_THAT(text, Catch::Contains(R"(status="bad_reason__x_")"));
  CHECK_THAT(text, Catch::Contains(R"(wsprobe_connection_failures_total{stage="session",status="other",target="hostile"} 85)"));
  std::size_t series_count = 0;
  for (std::size_t at = text.find("wsprobe_connection_failures_total{"); at != std::string::npos;
       at = text.find("wsprobe_connection_failures_total{", at + 1)) {
    ++series_count;
  }
  CHECK(series_count == 17);  // 16 distinct statuses, then "other"
}
