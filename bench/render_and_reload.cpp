// The agent's control-plane costs at scale, against a local echo server:
// rendering /metrics for N targets, and reloading N targets (unchanged,
// all changed, all removed). Uses the real Agent; prints figures, asserts
// nothing.
//
//   wsprobe_bench_targets --url ws://127.0.0.1:PORT/ --targets 1000
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "agent/agent.h"
#include "agent/gzip.h"

namespace {

using Clock = std::chrono::steady_clock;

double millisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string configFor(const std::string& url, int targets, const std::string& ping_interval) {
  std::string text = "[web]\nlisten_address = \"127.0.0.1:0\"\n[agent]\nlocation = \"bench\"\n";
  for (int i = 0; i < targets; ++i) {
    text += "[[target]]\nname = \"t" + std::to_string(i) + "\"\nurl = \"" + url + "\"\nping_interval = \"" +
            ping_interval + "\"\nidle_probe = true\nlabels = { team = \"bench\" }\n";
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time /metrics rendering and reloads for many targets"};
  std::string url;
  int targets = 1000;
  int renders = 20;
  app.add_option("--url", url, "echo server URL")->required();
  app.add_option("--targets", targets, "targets (each: 1 heartbeat + 1 idle connection)")->capture_default_str();
  app.add_option("--renders", renders, "renderings to average")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  std::mutex mutex;
  std::string config = configFor(url, targets, "1s");
  wsprobe::Agent::Options options;
  options.load_config = [&] {
    std::lock_guard lock(mutex);
    return wsprobe::parseConfig(config, "bench.toml", wsprobe::processEnvironment());
  };
  wsprobe::Agent agent(std::move(options));
  const auto started = Clock::now();
  if (auto error = agent.start()) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 1;
  }
  const auto allOpen = [&] {
    int open = 0;
    for (const auto& target : agent.targetStatus()) {
      for (const auto& connection : target.connections) open += connection.state == "open";
    }
    return open == 2 * targets;
  };
  while (!allOpen() && Clock::now() - started < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!allOpen()) {
    std::fprintf(stderr, "not every connection opened within 60 s\n");
    return 1;
  }
  std::printf("targets                 %d (%d connections, open in %.0f ms)\n", targets, 2 * targets,
              millisecondsSince(started));

  std::size_t bytes = 0;
  std::vector<double> times;
  for (int i = 0; i < renders; ++i) {
    const auto start = Clock::now();
    bytes = agent.renderMetrics().size();
    times.push_back(millisecondsSince(start));
  }
  std::sort(times.begin(), times.end());
  std::printf("/metrics render         median %.1f ms, max %.1f ms (%zu KB, %d renders)\n", times[times.size() / 2],
              times.back(), bytes / 1024, renders);

  // What a scraper that sends Accept-Encoding: gzip costs (Prometheus does):
  // the render plus the compression the listener adds.
  for (const int level : {1, 6}) {
    std::vector<double> gzip_times;
    std::size_t compressed_bytes = 0;
    for (int i = 0; i < renders; ++i) {
      const auto start = Clock::now();
      const auto compressed = wsprobe::gzipCompress(agent.renderMetrics(), level);
      gzip_times.push_back(millisecondsSince(start));
      compressed_bytes = compressed ? compressed->size() : 0;
    }
    std::sort(gzip_times.begin(), gzip_times.end());
    std::printf("/metrics render + gzip  level %d: median %.1f ms, max %.1f ms (%zu KB, %.1f%% of the text)\n",
                level, gzip_times[gzip_times.size() / 2], gzip_times.back(), compressed_bytes / 1024,
                bytes ? 100.0 * static_cast<double>(compressed_bytes) / static_cast<double>(bytes) : 0.0);
  }

  auto timeReload = [&](const char* what, std::string next) {
    {
      std::lock_guard lock(mutex);
      config = std::move(next);
    }
    const auto start = Clock::now();
    const auto error = agent.reload();
    std::printf("reload, %-16s %.0f ms%s\n", what, millisecondsSince(start), error ? " (FAILED)" : "");
  };
  timeReload("unchanged", configFor(url, targets, "1s"));
  timeReload("all changed", configFor(url, targets, "2s"));
  timeReload("all removed", configFor(url, 0, "2s"));
  agent.stop();
  return 0;
}
