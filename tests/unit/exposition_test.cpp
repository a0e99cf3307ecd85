#include <catch2/catch.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "agent/exposition.h"

using namespace wsprobe;

TEST_CASE("the exposition is byte for byte what prometheus-cpp's TextSerializer writes", "[unit]") {
  prometheus::Registry registry;
  auto& counters = prometheus::BuildCounter().Name("a_total").Help("Counts \\ things\nacross lines.").Register(registry);
  counters.Add({{"target", "quote\" back\\slash\nnewline"}, {"code", "1006"}}).Increment(1e21);
  counters.Add({{"target", "x"}}).Increment(0.1 + 0.2);
  auto& gauges = prometheus::BuildGauge().Name("b").Help("").Register(registry);
  gauges.Add({}).Set(std::numeric_limits<double>::quiet_NaN());
  gauges.Add({{"l", "inf"}}).Set(std::numeric_limits<double>::infinity());
  gauges.Add({{"l", "-inf"}}).Set(-std::numeric_limits<double>::infinity());
  gauges.Add({{"l", "tiny"}}).Set(1.5e-7);
  gauges.Add({{"l", "time"}}).Set(1795504817.77);
  gauges.Add({{"l", "integer"}}).Set(9007199254740993.0);
  auto& histograms = prometheus::BuildHistogram().Name("c_seconds").Help("Lifetimes.").Register(registry);
  auto& histogram = histograms.Add({{"mode", "idle"}}, prometheus::Histogram::BucketBoundaries{0.0005, 1, 59, 86400});
  for (const double v : {0.0001, 0.3, 60.0, 1e6}) histogram.Observe(v);
  auto& summaries = prometheus::BuildSummary().Name("d").Help("Quantiles.").Register(registry);
  summaries.Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.99, 0.001}}).Observe(3);

  const auto families = registry.Collect();
  std::ostringstream expected;
  prometheus::TextSerializer().Serialize(expected, families);
  std::string actual;
  appendTextExposition(families, actual);
  CHECK(actual == expected.str());
  CHECK_THAT(actual, Catch::Contains(R"(c_seconds_bucket{mode="idle",le="0.0005"} 1)"));
}
