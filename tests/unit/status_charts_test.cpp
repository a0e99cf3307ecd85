// The status page's SVG charts from hand-made histories: one point per
// sample, lines broken where an interval had no pong, a note instead of an
// invented line when there is nothing to draw, the target's name escaped.
#include "agent/status_charts.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "agent/web_api.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::StatusHistory;
using wsprobe::StatusSample;

const std::vector<double> kLifetimeBounds = {1, 5, 10, 15, 30, 60, 120, 300};
constexpr float kNoPong = std::numeric_limits<float>::quiet_NaN();

StatusHistory::Snapshot snapshotOf(std::vector<StatusSample> samples) {
  StatusHistory::Snapshot snapshot;
  snapshot.samples = std::move(samples);
  snapshot.interval = 10s;
  snapshot.lifetime_bounds = kLifetimeBounds;
  for (auto& counts : snapshot.lifetimes) counts.assign(kLifetimeBounds.size() + 1, 0);
  return snapshot;
}

StatusSample sample(float p50, float p99, std::uint16_t open) { return {p50, p99, 5, open, open, 0}; }

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The number of x,y pairs in the polylines of class `kind`.
std::size_t points(const std::string& svg, const std::string& kind) {
  const std::string start = "<polyline class=\"" + kind + "\" points=\"";
  std::size_t n = 0;
  for (auto at = svg.find(start); at != std::string::npos; at = svg.find(start, at + 1)) {
    const auto begin = at + start.size();
    const auto end = svg.find('"', begin);
    n += count(svg.substr(begin, end - begin), ",");
  }
  return n;
}

}  // namespace

TEST_CASE("the RTT chart draws p50 and p99 with a point per sample", "[unit][status_charts]") {
  std::vector<StatusSample> samples;
  for (int i = 0; i < 30; ++i) samples.push_back(sample(0.002f, 0.004f + 0.0001f * static_cast<float>(i), 2));
  const std::string svg = wsprobe::rttChartSvg(snapshotOf(samples), "chat");
  CHECK(count(svg, "<polyline class=\"p50\"") == 1);
  CHECK(points(svg, "p50") == 30);
  CHECK(points(svg, "p99") == 30);
  CHECK(svg.find("5 ms</text>") != std::string::npos);     // the axis' top: 4.3 ms rounded up
  CHECK(svg.find(">-5 min</text>") != std::string::npos);  // 30 samples of 10 s
  CHECK(svg.find("no pong") == std::string::npos);
}

TEST_CASE("the RTT chart breaks its lines where an interval had no pong", "[unit][status_charts]") {
  const std::vector<StatusSample> samples = {sample(0.001f, 0.002f, 1),   sample(0.001f, 0.002f, 1),
                                             sample(kNoPong, kNoPong, 1), sample(0.001f, 0.002f, 1),
                                             sample(kNoPong, kNoPong, 0), sample(0.001f, 0.003f, 1),
                                             sample(0.001f, 0.002f, 1),   sample(0.001f, 0.002f, 1)};
  const std::string svg = wsprobe::rttChartSvg(snapshotOf(samples), "chat");
  CHECK(count(svg, "<polyline class=\"p50\"") == 2);
  CHECK(points(svg, "p50") == 5);
  CHECK(count(svg, "<circle class=\"p50\"") == 1);  // the lone sample between two gaps
}

TEST_CASE("charts with nothing to draw say so", "[unit][status_charts]") {
  const std::string empty_rtt = wsprobe::rttChartSvg(snapshotOf({}), "chat");
  CHECK(empty_rtt.find("collecting") != std::string::npos);
  CHECK(empty_rtt.find("<polyline") == std::string::npos);

  const std::string no_pong =
      wsprobe::rttChartSvg(snapshotOf({sample(kNoPong, kNoPong, 1), sample(kNoPong, kNoPong, 1)}), "chat");
  CHECK(no_pong.find("no pong answered in this window") != std::string::npos);
  CHECK(no_pong.find("<polyline") == std::string::npos);

  const std::string open = wsprobe::openChartSvg(snapshotOf({}), 2, 0, "chat");
  CHECK(open.find("collecting") != std::string::npos);
  CHECK(open.find("<line class=\"desired\"") != std::string::npos);

  const std::string lifetimes = wsprobe::lifetimeChartSvg(snapshotOf({}), "chat");
  CHECK(lifetimes.find("no connection has ended yet") != std::string::npos);
  CHECK(lifetimes.find("<rect class=\"life-") == std::string::npos);
}

TEST_CASE("the open chart draws heartbeat, fewest and idle counts", "[unit][status_charts]") {
  std::vector<StatusSample> samples;
  for (int i = 0; i < 12; ++i) {
    samples.push_back({0.001f, 0.001f, 3, 2, static_cast<std::uint16_t>(i % 3 == 0 ? 1 : 2), 1});
  }
  const std::string with_idle = wsprobe::openChartSvg(snapshotOf(samples), 2, 1, "chat");
  CHECK(points(with_idle, "open") == 12);
  CHECK(points(with_idle, "open-min") == 12);
  CHECK(points(with_idle, "idle") == 12);
  for (auto& s : samples) s.idle_open = 0;
  const std::string without_idle = wsprobe::openChartSvg(snapshotOf(samples), 2, 0, "chat");
  CHECK(points(without_idle, "idle") == 0);
}

TEST_CASE("the lifetime chart has a bar per bucket around the ends, stacked by mode",
          "[unit][status_charts]") {
  auto snapshot = snapshotOf({});
  snapshot.lifetimes[0][2] = 4;  // heartbeat, (5, 10]
  snapshot.lifetimes[1][2] = 1;  // idle, (5, 10]
  snapshot.lifetimes[1][5] = 2;  // idle, (30, 60]
  const std::string svg = wsprobe::lifetimeChartSvg(snapshot, "chat");
  CHECK(count(svg, "<rect class=\"life-heartbeat\"") == 1);
  CHECK(count(svg, "<rect class=\"life-idle\"") == 2);
  CHECK(count(svg, "<title>") == 6);  // buckets 2..5 widened to six bars
  CHECK(svg.find("<title>≤10s: 4 heartbeat, 1 idle</title>") != std::string::npos);
  CHECK(svg.find(">≤60s</text>") != std::string::npos);

  snapshot.lifetimes[0].back() = 1;  // above the last bound
  const std::string with_overflow = wsprobe::lifetimeChartSvg(snapshot, "chat");
  CHECK(count(with_overflow, "<title>") == 7);  // buckets 2..8
  CHECK(with_overflow.find("<title>&gt;5m: 1 heartbeat, 0 idle</title>") != std::string::npos);
}

TEST_CASE("charts escape the target's name", "[unit][status_charts]") {
  const std::string hostile = "<script>alert(\"x\")</script>";
  for (const std::string& svg :
       {wsprobe::rttChartSvg(snapshotOf({}), hostile), wsprobe::openChartSvg(snapshotOf({}), 1, 0, hostile),
        wsprobe::lifetimeChartSvg(snapshotOf({}), hostile)}) {
    CHECK(svg.find("<script") == std::string::npos);
    CHECK(svg.find(wsprobe::htmlEscape(hostile)) != std::string::npos);
  }
}

TEST_CASE("the status page charts every target with a history, names escaped", "[unit][status_charts][web]") {
  wsprobe::TargetView hostile;
  hostile.status.name = "<script>document.title='pwned'</script>";
  hostile.history = snapshotOf({sample(0.001f, 0.002f, 1), sample(0.001f, 0.002f, 1)});
  wsprobe::TargetView plain;
  plain.status.name = "chat";
  plain.history = snapshotOf({});
  wsprobe::TargetView unstarted;  // no history: no charts
  unstarted.status.name = "feed";
  const std::string page = wsprobe::statusPage({hostile, plain, unstarted}, {}, "0.1.0",
                                               std::chrono::system_clock::time_point(1'800'000'000s));
  CHECK(count(page, "<section class=\"target-charts\">") == 2);
  CHECK(count(page, "<svg class=\"chart chart-rtt\"") == 2);
  CHECK(page.find("<h3>&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; <span") !=
        std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("one sample every 10 s, the last 30 min at most") != std::string::npos);
}

TEST_CASE("the status page charts at most 60 targets, those down first", "[unit][status_charts][web]") {
  std::vector<wsprobe::TargetView> views;
  for (int i = 0; i < 100; ++i) {
    wsprobe::TargetView view;
    view.status.name = "t" + std::to_string(i);
    view.status.up = i != 97;
    view.history = snapshotOf({sample(0.001f, 0.002f, 1), sample(0.001f, 0.002f, 1)});
    views.push_back(std::move(view));
  }
  const std::string page =
      wsprobe::statusPage(views, {}, "0.1.0", std::chrono::system_clock::time_point(1'800'000'000s));
  CHECK(count(page, "<section class=\"target-charts\">") == 60);
  CHECK(page.find("<section class=\"target-charts\"><h3>t97 ") < page.find("<h3>t0 "));
  CHECK(page.find("<h3>t59 ") == std::string::npos);  // t0..t58 after t97
  CHECK(page.find("charts of 60 of 100 targets, those down first") != std::string::npos);
  CHECK(count(page, "<tr class=\"target\">") == 100);
}
