// Holds N connections to a local echo server, one ping per second each, and
// prints what it costs: resident memory per connection, CPU per 1,000 pings,
// and the RTT distribution, over a steady window after every connection is
// open. Uses the real engine and the real metric series.
//
//   wsprobe_bench_hold --url ws://127.0.0.1:PORT/ --connections 10000 --window 20
#include <CLI/CLI.hpp>
#include <prometheus/registry.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/event_log.h"
#include "agent/target_reporter.h"
#include "probes/engine.h"

namespace {

using namespace wsprobe;
using Clock = std::chrono::steady_clock;

// The agent's reporter, plus every RTT kept for percentiles.
class MeasuringObserver final : public ProbeObserver {
 public:
  MeasuringObserver(MetricFamilies& families, const TargetSpec& spec, EventLog& events)
      : reporter_(families, spec, "", events) {}

  void onAttempt(ConnectionMode mode, bool replacing) override { reporter_.onAttempt(mode, replacing); }
  void onFailure(ConnectionMode mode, const ConnectionFailure& failure) override {
    ++failures;
    reporter_.onFailure(mode, failure);
  }
  void onOpen(ConnectionMode mode, Duration handshake) override { reporter_.onOpen(mode, handshake); }
  void onEnd(const ConnectionEnd& end) override {
    ++ends;
    reporter_.onEnd(end);
  }
  void onRoundTrip(Duration rtt) override {
    reporter_.onRoundTrip(rtt);
    if (recording) {
      std::lock_guard lock(mutex);
      rtts.push_back(std::chrono::duration<double>(rtt).count());
    }
  }
  void onOpenCount(ConnectionMode mode, int count) override {
    if (mode == ConnectionMode::heartbeat) open = count;
    reporter_.onOpenCount(mode, count);
  }
  void onUp(bool up) override { reporter_.onUp(up); }
  void onMessageSent() override {}
  void onMessageReceived() override {}
  void onIdleTimeoutEstimate(double) override {}

  std::atomic<int> open{0};
  std::atomic<int> failures{0};
  std::atomic<int> ends{0};
  std::atomic<bool> recording{false};
  std::mutex mutex;
  std::vector<double> rtts;

 private:
  TargetReporter reporter_;
};

double residentBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  }
  return 0;
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hold N WebSocket connections with one ping per second each and print the cost"};
  std::string url;
  int connections = 1000;
  int window_seconds = 20;
  int ramp_timeout_seconds = 120;
  double timer_slack_ms = std::chrono::duration<double, std::milli>(Engine::Settings{}.timer_slack).count();
  app.add_option("--url", url, "echo server URL")->required();
  app.add_option("--connections", connections, "connections to hold")->capture_default_str();
  app.add_option("--window", window_seconds, "steady window, seconds")->capture_default_str();
  app.add_option("--ramp-timeout", ramp_timeout_seconds, "give up opening after, seconds")
      ->capture_default_str();
  app.add_option("--timer-slack-ms", timer_slack_ms, "deadlines this close share a wake-up")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // one line per connection end would drown the figures

  std::string error;
  TargetSpec spec;
  spec.name = "bench";
  const auto parsed = parseWebSocketUrl(url, &error);
  if (!parsed) {
    std::fprintf(stderr, "bad --url: %s\n", error.c_str());
    return 2;
  }
  spec.url = *parsed;
  spec.connections = connections;
  spec.ping_interval = std::chrono::seconds(1);
  spec.pong_timeout = std::chrono::seconds(5);
  spec.connect_timeout = std::chrono::seconds(30);

  const double rss_before = residentBytes();
  prometheus::Registry registry;
  MetricFamilies families(registry);
  EventLog events;
  auto observer = std::make_shared<MeasuringObserver>(families, spec, events);
  Engine::Settings settings;
  settings.timer_slack = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(timer_slack_ms));
  Engine engine(settings);
  if (!engine.start(&error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const auto ramp_start = Clock::now();
  engine.addTarget(spec, observer);
  while (observer->open < connections &&
         Clock::now() - ramp_start < std::chrono::seconds(ramp_timeout_seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double ramp = std::chrono::duration<double>(Clock::now() - ramp_start).count();
  if (observer->open < connections) {
    std::fprintf(stderr, "only %d of %d connections opened in %ds (%d failures)\n", observer->open.load(),
                 connections, ramp_timeout_seconds, observer->failures.load());
    engine.shutdown(std::chrono::seconds(1));
    return 1;
  }
  // Let the first pings after the ramp settle into their one-per-second grid.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  const int ends_before = observer->ends;
  const double cpu_start = cpuSeconds();
  const auto window_start = Clock::now();
  observer->recording = true;
  std::this_thread::sleep_for(std::chrono::seconds(window_seconds));
  observer->recording = false;
  const double cpu = cpuSeconds() - cpu_start;
  const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
  const double rss = residentBytes();

  std::vector<double> rtts;
  {
    std::lock_guard lock(observer->mutex);
    rtts = observer->rtts;
  }
  double mean = 0;
  for (const double rtt : rtts) mean += rtt;
  if (!rtts.empty()) mean /= static_cast<double>(rtts.size());
  const double pings = static_cast<double>(rtts.size());

  std::printf("connections held        %d (opened in %.1f s)\n", connections, ramp);
  std::printf("window                  %.1f s\n", window);
  std::printf("pings answered          %.0f (%.0f per second)\n", pings, pings / window);
  std::printf("connections lost        %d\n", observer->ends.load() - ends_before);
  std::printf("resident memory         %.1f MB total, %.2f KB per connection (%.1f MB before start)\n",
              rss / 1e6, (rss - rss_before) / connections / 1e3, rss_before / 1e6);
  const struct mallinfo2 heap = mallinfo2();
  std::printf("heap in use             %.1f MB (%.1f MB held by malloc)\n", static_cast<double>(heap.uordblks) / 1e6,
              static_cast<double>(heap.arena + heap.hblkhd) / 1e6);
  std::printf("CPU                     %.3f s in window = %.1f%% of a core\n", cpu, 100 * cpu / window);
  std::printf("CPU per ping            %.2f us (%.3f s per 1,000 pings)\n", pings ? cpu / pings * 1e6 : 0,
              pings ? cpu / pings * 1000 : 0);
  std::printf("RTT mean                %.3f ms\n", mean * 1e3);
  std::printf("RTT p50                 %.3f ms\n", percentile(rtts, 0.50) * 1e3);
  std::printf("RTT p99                 %.3f ms\n", percentile(rtts, 0.99) * 1e3);
  std::printf("RTT max                 %.3f ms\n", rtts.empty() ? 0 : *std::max_element(rtts.begin(), rtts.end()) * 1e3);

  engine.shutdown(std::chrono::seconds(2));
  return 0;
}
