// The status page's charts in a real browser: the built `wsprobe demo` runs
// with a 3 s sample interval until every target has a dozen samples, then
// headless Chromium renders / to a DOM and to a screenshot. The DOM must
// hold, for every target, RTT and open-connection lines with a point per
// sample (except no-pong, which never gets an answer) and lifetime bars for
// the targets whose connections end; the screenshot must show those lines
// and bars in their colours inside the charts' plot areas. Nothing on the
// page comes from outside the binary.
//
// WSPROBE_SCREENSHOT_DIR=/some/dir keeps the screenshot (status-page.png).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/chromium.h"
#include "support/http_client.h"
#include "support/png_image.h"
#include "support/scrape.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::testing::chromiumProgram;
using wsprobe::testing::headlessChromium;
using wsprobe::testing::occurrences;
using wsprobe::testing::Rgb;

const std::vector<std::string> kDemoTargets = {"healthy",      "idle-timeout",  "drops",
                                               "server-close", "flaky-upgrade", "no-pong"};
constexpr std::size_t kSamples = 12;  // per target, before the browser looks

// Each target's chart section of the page (or of the browser's DOM), by name.
std::map<std::string, std::string> chartSections(const std::string& page) {
  std::map<std::string, std::string> sections;
  const std::string start = "<section class=\"target-charts\"><h3>";
  for (auto at = page.find(start); at != std::string::npos;) {
    const auto name_end = page.find(' ', at + start.size());
    const auto next = page.find(start, at + 1);
    sections[page.substr(at + start.size(), name_end - at - start.size())] = page.substr(at, next - at);
    at = next;
  }
  return sections;
}

// x,y pairs in the polylines of class `kind` within `svg`.
std::size_t points(const std::string& svg, const std::string& kind) {
  const std::string start = "<polyline class=\"" + kind + "\" points=\"";
  std::size_t n = 0;
  for (auto at = svg.find(start); at != std::string::npos; at = svg.find(start, at + 1)) {
    const auto begin = at + start.size();
    n += occurrences(svg.substr(begin, svg.find('"', begin) - begin), ",");
  }
  return n;
}

// The open-connection line of every target, and the RTT line of every
// target but no-pong, have `at_least` points.
bool chartsHaveData(const std::string& page, std::size_t at_least) {
  const auto sections = chartSections(page);
  for (const auto& name : kDemoTargets) {
    const auto section = sections.find(name);
    if (section == sections.end()) return false;
    if (points(section->second, "open") < at_least) return false;
    if (name != "no-pong" && points(section->second, "p50") + points(section->second, "p99") < 2 * at_least) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> browserArguments(const std::string& browser, const std::string& profile) {
  auto arguments = headlessChromium(browser, profile);
  arguments.insert(arguments.end(),
                   {"--hide-scrollbars", "--run-all-compositor-stages-before-draw", "--window-size=1280,1100"});
  return arguments;
}

}  // namespace

TEST_CASE(
    "the status page of wsprobe demo shows RTT, open-connection and lifetime charts with data in Chromium",
    "[e2e][web][status_page]") {
  const std::string browser = chromiumProgram();
  INFO("Debian's chromium package is needed (scripts/setup.sh installs it)");
  REQUIRE_FALSE(browser.empty());

  wsprobe::testing::TempDir dir;
  wsprobe::testing::ChildProcess demo(
      {WSPROBE_BINARY, "demo", "--web.listen-address=127.0.0.1:0", "--internal.status-sample-interval=3s"},
      {}, dir.file("demo.log"));
  int port = 0;
  REQUIRE(wsprobe::testing::waitFor(
      [&] {
        std::smatch match;
        const std::string log = wsprobe::testing::readFile(dir.file("demo.log"));
        if (!std::regex_search(log, match, std::regex(R"(listening on \S+ \(port (\d+)\))"))) return false;
        port = std::stoi(match[1]);
        return true;
      },
      30s));

  // A dozen samples of 3 s for every target: about 40 s of the demo.
  // Polled once a second: a page of six targets' charts is no 20 ms poll.
  std::string page;
  bool filled = false;
  for (const auto deadline = std::chrono::steady_clock::now() + 100s;
       !filled && std::chrono::steady_clock::now() < deadline;) {
    page = wsprobe::testing::httpGet(port, "/").body;
    filled = chartsHaveData(page, kSamples);
    if (!filled) std::this_thread::sleep_for(1s);
  }
  INFO(page);
  REQUIRE(filled);

  // The DOM Chromium built: the same lines, and bars where connections end.
  wsprobe::testing::TempDir profile;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto dump_args = browserArguments(browser, profile.path());
  dump_args.insert(dump_args.end(), {"--dump-dom", url});
  const auto dumped = wsprobe::testing::runCommand(dump_args, 60s);
  const std::string& dom = dumped.output;
  INFO(dom);
  REQUIRE(dumped.exit_code == 0);
  CHECK(chartsHaveData(dom, kSamples));
  const auto sections = chartSections(dom);
  for (const std::string name : {"drops", "server-close", "idle-timeout", "no-pong"}) {
    INFO(name << " ends connections every few seconds");
    REQUIRE(sections.count(name) == 1);
    CHECK(occurrences(sections.at(name), "<rect class=\"life-") >= 1);
  }
  CHECK(occurrences(sections.at("healthy"), "<rect class=\"life-") == 0);  // nothing ended
  CHECK(sections.at("no-pong").find("no pong answered in this window") != std::string::npos);
  // Self-contained: no script, no external resource of any kind.
  CHECK(occurrences(dom, "<script") == 0);
  CHECK(occurrences(dom, "<link") == 0);
  CHECK(occurrences(dom, " src=") == 0);
  CHECK(occurrences(dom, "url(") == 0);
  CHECK(occurrences(dom, "@import") == 0);
  CHECK(occurrences(dom, "https://") == 0);

  // The screenshot: what a person sees.
  wsprobe::testing::TempDir shot_profile;
  const std::string shot = dir.file("status-page.png");
  auto shot_args = browserArguments(browser, shot_profile.path());
  shot_args.insert(shot_args.end(), {"--screenshot=" + shot, url});
  const auto taken = wsprobe::testing::runCommand(shot_args, 60s, true);
  INFO(taken.output);
  REQUIRE(taken.exit_code == 0);
  if (const char* keep = std::getenv("WSPROBE_SCREENSHOT_DIR")) {
    std::filesystem::copy_file(shot, std::filesystem::path(keep) / "status-page.png",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::string error;
  const auto image = wsprobe::testing::decodePng(wsprobe::testing::readFile(shot), &error);
  INFO(error);
  REQUIRE(image);
  CHECK(image->width == 1280);
  CHECK(image->height == 1100);

  // The charts' area: the bounding box of the plot background (#fafafa).
  int x0 = image->width, y0 = image->height, x1 = 0, y1 = 0;
  for (int y = 0; y < image->height; ++y) {
    for (int x = 0; x < image->width; ++x) {
      if (image->at(x, y) == Rgb{0xfa, 0xfa, 0xfa}) {
        x0 = std::min(x0, x);
        y0 = std::min(y0, y);
        x1 = std::max(x1, x + 1);
        y1 = std::max(y1, y + 1);
      }
    }
  }
  INFO("chart area " << x0 << "," << y0 << " to " << x1 << "," << y1);
  // Six targets, three charts each, 360 x 110 px: at least two rows of three.
  REQUIRE(x1 - x0 > 900);
  REQUIRE(y1 - y0 > 600);
  std::set<std::uint32_t> colours;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const Rgb& p = image->at(x, y);
      colours.insert(static_cast<std::uint32_t>(p.r) << 16 | static_cast<std::uint32_t>(p.g) << 8 | p.b);
    }
  }
  CHECK(colours.size() > 50);  // lines, bars, text and their anti-aliasing: not a blank page
  const std::map<std::string, Rgb> series = {
      {"p50 (blue)", {0x1f, 0x77, 0xb4}},
      {"p99 (orange)", {0xff, 0x7f, 0x0e}},
      {"open heartbeat and heartbeat lifetimes (green)", {0x2c, 0xa0, 0x2c}},
      {"idle lifetimes and idle open (purple)", {0x94, 0x67, 0xbd}}};
  for (const auto& [what, colour] : series) {
    const auto n = wsprobe::testing::countNear(*image, colour, 40, x0, y0, x1, y1);
    INFO(what << ": " << n << " pixels");
    // A 2 px line across a 302 px plot in five or six charts: well over 500.
    CHECK(n > 500);
  }
}
