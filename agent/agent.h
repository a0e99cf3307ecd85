// The daemon: loads the configuration, hands targets to the engine, keeps
// one reporter per target, serves the HTTP endpoints and reloads on demand.
// Data flows one way: config -> engine -> reporters (metrics, events, logs)
// -> HTTP.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "agent/config.h"
#include "agent/event_log.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/process_metrics.h"
#include "agent/target_reporter.h"
#include "agent/web_api.h"
#include "probes/engine.h"

namespace wsprobe {

struct BuildInfo {
  std::string version;
  std::string revision;
};
const BuildInfo& buildInfo();

class Agent {
 public:
  // Produces the configuration: from a file, or built in (the demo).
  using ConfigSource = std::function<ConfigResult()>;

  struct Options {
    ConfigSource load_config;
    std::optional<std::string> listen_address;  // wins over the file's
    // --web.config.file (exporter-toolkit YAML), re-read with the
    // configuration; empty: the TOML [web] table's TLS and users.
    std::string web_config_file;
    Engine::Settings engine;
    // Of the status page's charts (StatusHistory keeps 180 samples): 10 s
    // makes them cover 30 minutes. Shorter only for tests and a quick look.
    Duration status_sample_interval = std::chrono::seconds(10);
  };

  explicit Agent(Options options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Loads the configuration, starts the engine and the listener.
  std::optional<std::string> start();
  // Re-reads the configuration. Unchanged targets keep their connections and
  // series; changed ones reconnect; removed ones close and lose their series.
  // An invalid configuration changes nothing. Returns the error, if any.
  std::optional<std::string> reload();
  // Closes every connection with 1001 and stops the listener.
  void stop();

  int port() const { return http_.port(); }
  std::string listenAddress() const { return listen_address_; }
  std::string renderMetrics() const;
  std::vector<TargetStatus> targetStatus() { return engine_.status(); }
  // The engine's status with each target's labels, last close and idle
  // timeout estimate: what / and /api/v1/targets show.
  std::vector<TargetView> targetViews();
  const EventLog& events() const { return events_; }

 private:
  struct HeldTarget {
    TargetSpec spec;
    std::shared_ptr<TargetReporter> reporter;
  };
  void apply(const Config& config);
  void recordLoad(bool ok);
  void registerEndpoints();

  Options options_;
  std::shared_ptr<prometheus::Registry> registry_;
  MetricFamilies families_;
  ProcessMetrics process_metrics_;
  EventLog events_;
  Engine engine_;
  HttpServer http_;
  std::mutex reload_mutex_;  // one load at a time (SIGHUP and /-/reload)
  std::string location_;
  prometheus::Gauge* shard_info_ = nullptr;  // wsprobe_shard_info of the share held
  std::string listen_address_;
  std::map<std::string, HeldTarget> targets_;
  std::atomic<bool> ready_{false};
  mutable std::atomic<std::size_t> last_metrics_size_{0};  // bytes of the last /metrics, to reserve
  bool stopped_ = false;
};

}  // namespace wsprobe
