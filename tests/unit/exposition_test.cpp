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

TEST_CASE("the exposition is byte for byte what prometheus-cpp's TextSerializer writes, HELP escaped",
          "[unit]") {
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
  // TextSerializer writes HELP raw: the line feed splits the line in two. The
  // format wants `\\` and `\n` escaped there; everything else is identical.
  std::string reference = expected.str();
  const std::string raw_help = "# HELP a_total Counts \\ things\nacross lines.\n";
  const std::string escaped_help = "# HELP a_total Counts \\\\ things\\nacross lines.\n";
  REQUIRE(reference.find(raw_help) != std::string::npos);
  reference.replace(reference.find(raw_help), raw_help.size(), escaped_help);
  CHECK(actual == reference);
  CHECK_THAT(actual, Catch::Contains(escaped_help));
  CHECK_THAT(actual, !Catch::Contains("\nacross lines."));
  CHECK_THAT(actual, Catch::Contains(R"(c_seconds_bucket{mode="idle",le="0.0005"} 1)"));
}

TEST_CASE("HELP escapes backslash and line feed but not the double quote", "[unit]") {
  prometheus::MetricFamily family;
  family.name = "x_total";
  family.help = "a \"quoted\" C:\\path\nand a second line";
  family.type = prometheus::MetricType::Counter;
  family.metric.emplace_back();
  std::string text;
  appendTextExposition({family}, text);
  CHECK(text ==
        "# HELP x_total a \"quoted\" C:\\\\path\\nand a second line\n"
        "# TYPE x_total counter\n"
        "x_total 0\n");
}
