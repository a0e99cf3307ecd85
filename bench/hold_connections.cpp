// Holds N connections to local echo servers, one ping per second each, and
// prints what it costs: resident memory per connection, CPU per ping, and the
// RTT distribution, over a steady window after every connection is open. Uses
// the real engine and the real metric series. With several --url the
// connections are split evenly, one target per URL (one process may hold at
// most 20,000 open files here, so 19,000 connections need several servers).
//
//   wsprobe_bench_hold --url ws://127.0.0.1:PORT/ [--url ...] --connections 10000 --window 20
//                      [--protocol raw|socketio|...]
//
// The last line is a machine-readable summary for bench/run.sh (RESULT ...).
#include <CLI/CLI.hpp>
#include <prometheus/registry.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/event_log.h"
#include "agent/target_reporter.h"
#include "probes/engine.h"

namespace {

using namespace wsprobe;
using Clock = std::chrono::steady_clock;

// Every RTT of the window: 1 us buckets up to 100 ms, then 1 ms buckets up
// to 60 s (the last one: at least that).
// calloc, so only the buckets used cost resident memory: the bench's own
// bookkeeping must not show up as the engine's (a vector of every RTT held
// about 2 MB at 10,000 connections).
class RttHistogram {
 public:
  static constexpr std::size_t kFineBuckets = 100000;
  static constexpr std::size_t kBuckets = kFineBuckets + 60000;

  void add(Duration rtt) {
    const double us = std::chrono::duration<double, std::micro>(rtt).count();
    std::lock_guard lock(mutex_);
    ++count_;
    sum_us_ += us;
    max_us_ = std::max(max_us_, us);
    auto bucket = static_cast<std::size_t>(us);
    if (bucket >= kFineBuckets) bucket = kFineBuckets + (bucket - kFineBuckets) / 1000;
    ++buckets_[std::min(bucket, kBuckets - 1)];
  }
  std::uint64_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  double meanUs() {
    std::lock_guard lock(mutex_);
    return count_ ? sum_us_ / static_cast<double>(count_) : 0;
  }
  double maxUs() {
    std::lock_guard lock(mutex_);
    return max_us_;
  }
  double percentileUs(double p) {
    std::lock_guard lock(mutex_);
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * static_cast<double>(count_ - 1));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
      seen += buckets_[bucket];
      if (seen > rank) {
        return bucket < kFineBuckets ? static_cast<double>(bucket) + 0.5
                                     : static_cast<double>(kFineBuckets + (bucket - kFineBuckets) * 1000 + 500);
      }
    }
    return 0;
  }

 private:
  struct Free {
    void operator()(std::uint32_t* p) const { std::free(p); }
  };
  std::mutex mutex_;
  std::unique_ptr<std::uint32_t[], Free> buckets_{
      static_cast<std::uint32_t*>(std::calloc(kBuckets, sizeof(std::uint32_t)))};
  std::uint64_t count_ = 0;
  double sum_us_ = 0;
  double max_us_ = 0;
};

// What all targets of the run share.
struct Tally {
  std::atomic<int> open{0};
  std::atomic<int> failures{0};
  std::atomic<int> ends{0};
  std::atomic<bool> recording{false};
  RttHistogram rtts;

  // Why attempts failed: "stage status" -> count, and one detail of each.
  void addFailure(const ConnectionFailure& failure) {
    std::lock_guard lock(failure_mutex);
    auto key = std::string(toString(failure.stage));
    if (!failure.status().empty()) key += " " + failure.status();
    auto& entry = failure_kinds[key];
    if (entry.first++ == 0) entry.second = failure.detail;
  }
  std::mutex failure_mutex;
  std::map<std::string, std::pair<int, std::string>> failure_kinds;
};

// The agent's reporter, plus the run's tally.
class MeasuringObserver final : public ProbeObserver {
 public:
  MeasuringObserver(MetricFamilies& families, const TargetSpec& spec, EventLog& events, Tally& tally)
      : reporter_(families, spec, "", events), tally_(tally) {}

  void onAttempt(ConnectionMode mode, bool replacing) override { reporter_.onAttempt(mode, replacing); }
  void onFailure(ConnectionMode mode, const ConnectionFailure& failure) override {
    ++tally_.failures;
    tally_.addFailure(failure);
    reporter_.onFailure(mode, failure);
  }
  void onOpen(ConnectionMode mode, Duration handshake) override { reporter_.onOpen(mode, handshake); }
  void onEnd(const ConnectionEnd& end) override {
    ++tally_.ends;
    reporter_.onEnd(end);
  }
  void onRoundTrip(Duration rtt) override {
    reporter_.onRoundTrip(rtt);
    if (tally_.recording) tally_.rtts.add(rtt);
  }
  void onOpenCount(ConnectionMode mode, int count) override {
    if (mode == ConnectionMode::heartbeat) {
      tally_.open += count - open_;
      open_ = count;
    }
    reporter_.onOpenCount(mode, count);
  }
  void onUp(bool up) override { reporter_.onUp(up); }
  void onMessageSent() override {}
  void onMessageReceived() override {}
  void onIdleTimeoutEstimate(double) override {}
  void onAppRoundTrip(Duration rtt) override { reporter_.onAppRoundTrip(rtt); }
  void onMessageGap(Duration gap) override { reporter_.onMessageGap(gap); }
  void onTcpPath(Duration smoothed_rtt, std::uint32_t new_retransmits) override {
    reporter_.onTcpPath(smoothed_rtt, new_retransmits);
  }
  void onProtocolDetected(std::string_view detected) override { reporter_.onProtocolDetected(detected); }

 private:
  TargetReporter reporter_;
  Tally& tally_;
  int open_ = 0;  // this target's, on the service thread
};

double residentBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  }
  return 0;
}

void printFailures(Tally& tally) {
  std::lock_guard lock(tally.failure_mutex);
  for (const auto& [kind, entry] : tally.failure_kinds) {
    std::fprintf(stderr, "failed attempts: %d at %s (first: %s)\n", entry.first, kind.c_str(), entry.second.c_str());
  }
}

int openFiles() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hold N WebSocket connections with one ping per second each and print the cost"};
  std::vector<std::string> urls;
  int connections = 1000;
  int window_seconds = 20;
  int settle_seconds = 2;
  int ramp_timeout_seconds = 120;
  std::string protocol = "raw";
  double timer_slack_ms = std::chrono::duration<double, std::milli>(Engine::Settings{}.timer_slack).count();
  app.add_option("--url", urls, "echo server URL; repeat it to spread the connections over several")->required();
  app.add_option("--connections", connections, "connections to hold, in all")->capture_default_str();
  app.add_option("--window", window_seconds, "steady window, seconds")->capture_default_str();
  app.add_option("--settle", settle_seconds, "seconds of pings after the ramp before the window")
      ->capture_default_str();
  app.add_option("--ramp-timeout", ramp_timeout_seconds, "give up opening after, seconds")
      ->capture_default_str();
  app.add_option("--protocol", protocol, "the targets' protocol (raw, socketio, auto, ...)")->capture_default_str();
  app.add_option("--timer-slack-ms", timer_slack_ms, "deadlines this close share a wake-up")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // one line per connection end would drown the figures

  // One target per URL, the connections split evenly; one URL keeps the
  // name "bench" (and so the heartbeat phase) of earlier runs.
  std::vector<TargetSpec> specs;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    std::string error;
    const auto parsed = parseWebSocketUrl(urls[i], &error);
    if (!parsed) {
      std::fprintf(stderr, "bad --url %s: %s\n", urls[i].c_str(), error.c_str());
      return 2;
    }
    TargetSpec spec;
    spec.name = urls.size() == 1 ? "bench" : "bench-" + std::to_string(i);
    spec.url = *parsed;
    spec.connections = connections / static_cast<int>(urls.size()) +
                       (static_cast<int>(i) < connections % static_cast<int>(urls.size()) ? 1 : 0);
    spec.protocol = protocol;
    spec.ping_interval = std::chrono::seconds(1);
    spec.pong_timeout = std::chrono::seconds(5);
    spec.connect_timeout = std::chrono::seconds(30);
    specs.push_back(spec);
  }

  Tally tally;
  const double rss_before = residentBytes();
  prometheus::Registry registry;
  MetricFamilies families(registry);
  EventLog events;
  Engine::Settings settings;
  settings.timer_slack =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(timer_slack_ms));
  Engine engine(settings);
  std::string error;
  if (!engine.start(&error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const auto ramp_start = Clock::now();
  for (const auto& spec : specs) {
    engine.addTarget(spec, std::make_shared<MeasuringObserver>(families, spec, events, tally));
  }
  while (tally.open < connections && Clock::now() - ramp_start < std::chrono::seconds(ramp_timeout_seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double ramp = std::chrono::duration<double>(Clock::now() - ramp_start).count();
  if (tally.open < connections) {
    std::fprintf(stderr, "only %d of %d connections opened in %ds (%d failures)\n", tally.open.load(), connections,
                 ramp_timeout_seconds, tally.failures.load());
    printFailures(tally);
    engine.shutdown(std::chrono::seconds(1));
    return 1;
  }
  // Let the first pings after the ramp settle into their one-per-second grid.
  std::this_thread::sleep_for(std::chrono::seconds(settle_seconds));

  const int ends_before = tally.ends;
  const int failures_before = tally.failures;
  const double cpu_start = cpuSeconds();
  const auto window_start = Clock::now();
  tally.recording = true;
  std::this_thread::sleep_for(std::chrono::seconds(window_seconds));
  tally.recording = false;
  const double cpu = cpuSeconds() - cpu_start;
  const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
  const double rss = residentBytes();
  const int files = openFiles();
  rlimit file_limit{};
  getrlimit(RLIMIT_NOFILE, &file_limit);
  const int lost = tally.ends - ends_before;
  const int failed = tally.failures - failures_before;

  auto& rtts = tally.rtts;
  const auto pings = static_cast<double>(rtts.count());
  const double cpu_per_ping_us = pings > 0 ? cpu / pings * 1e6 : 0;
  const double kb_per_connection = (rss - rss_before) / connections / 1e3;
  std::printf("connections held        %d on %zu server(s), protocol %s (opened in %.1f s)\n", connections,
              urls.size(), protocol.c_str(), ramp);
  std::printf("window                  %.1f s\n", window);
  std::printf("pings answered          %.0f (%.0f per second)\n", pings, pings / window);
  std::printf("connections lost        %d in the window, %d in all; failed attempts %d in the window, %d in all\n",
              lost, tally.ends.load(), failed, tally.failures.load());
  std::printf("resident memory         %.1f MB total, %.2f KB per connection (%.1f MB before start)\n", rss / 1e6,
              kb_per_connection, rss_before / 1e6);
  printFailures(tally);
  std::printf("open files              %d (limit %llu)\n", files,
              static_cast<unsigned long long>(file_limit.rlim_cur));
  const struct mallinfo2 heap = mallinfo2();
  std::printf("heap in use             %.1f MB (%.1f MB held by malloc)\n", static_cast<double>(heap.uordblks) / 1e6,
              static_cast<double>(heap.arena + heap.hblkhd) / 1e6);
  std::printf("CPU                     %.3f s in window = %.1f%% of a core\n", cpu, 100 * cpu / window);
  std::printf("CPU per ping            %.2f us (%.3f s per 1,000 pings)\n", cpu_per_ping_us, cpu_per_ping_us / 1e3);
  std::printf("RTT mean                %.3f ms\n", rtts.meanUs() / 1e3);
  std::printf("RTT p50                 %.3f ms\n", rtts.percentileUs(0.50) / 1e3);
  std::printf("RTT p99                 %.3f ms\n", rtts.percentileUs(0.99) / 1e3);
  std::printf("RTT max                 %.3f ms\n", rtts.maxUs() / 1e3);
  std::printf(
      "RESULT client=wsprobe protocol=%s connections=%d window_s=%.1f pongs=%.0f errors=%d rtt_mean_us=%.1f "
      "rtt_p50_us=%.1f rtt_p99_us=%.1f rtt_max_us=%.1f cpu_per_ping_us=%.2f rss_mb=%.2f kb_per_connection=%.3f\n",
      protocol.c_str(), connections, window, pings, tally.ends + tally.failures, rtts.meanUs(), rtts.percentileUs(0.50),
      rtts.percentileUs(0.99), rtts.maxUs(), cpu_per_ping_us, rss / 1e6, kb_per_connection);

  engine.shutdown(std::chrono::seconds(2));
  return 0;
}
