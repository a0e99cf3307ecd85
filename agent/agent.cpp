#include "agent.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "agent/exposition.h"
#include "agent/web_api.h"
#include "agent/web_config.h"

#ifndef WSPROBE_VERSION
#define WSPROBE_VERSION "0.0.0"
#endif
#ifndef WSPROBE_REVISION
#define WSPROBE_REVISION "unknown"
#endif

namespace wsprobe {

const BuildInfo& buildInfo() {
  static const BuildInfo info{WSPROBE_VERSION, WSPROBE_REVISION};
  return info;
}

Agent::Agent(Options options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      families_(*registry_),
      engine_(options_.engine) {
  families_.build_info
      .Add({{"version", buildInfo().version},
            {"revision", buildInfo().revision},
            {"libwebsockets", Engine::libraryVersion()}})
      .Set(1);
  registerEndpoints();
}

Agent::~Agent() { stop(); }

void Agent::recordLoad(bool ok) {
  families_.config_last_reload_successful.Add({}).Set(ok ? 1 : 0);
  if (ok) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    families_.config_last_reload_success_timestamp.Add({}).Set(
        std::chrono::duration<double>(now).count());
  }
}

std::optional<std::string> Agent::start() {
  ConfigResult loaded = options_.load_config();
  if (!loaded.config) return loaded.error;
  WebConfigResult web = resolveWebSecurity(loaded.config->web, options_.web_config_file);
  if (!web.security) return web.error;
  // spdlog's registry is created here, before the engine thread can log: the
  // library is not built with ThreadSanitizer, which then cannot see the
  // guard of its first use from two threads and reports a race.
  spdlog::default_logger_raw();
  std::string engine_error;
  if (!engine_.start(&engine_error)) return engine_error;
  listen_address_ = options_.listen_address.value_or(loaded.config->web.listen_address);
  if (auto error = http_.start({listen_address_, std::move(*web.security)})) {
    engine_.shutdown(Duration::zero());
    return error;
  }
  apply(*loaded.config);
  recordLoad(true);
  ready_ = true;
  spdlog::info("wsprobe {} listening on {} (port {}), probing {} targets", buildInfo().version,
               listen_address_, http_.port(), targets_.size());
  return std::nullopt;
}

std::optional<std::string> Agent::reload() {
  std::lock_guard lock(reload_mutex_);
  if (stopped_) return "shutting down";
  ConfigResult loaded = options_.load_config();
  if (!loaded.config) {
    recordLoad(false);
    spdlog::error("configuration reload failed, keeping the running configuration: {}", loaded.error);
    return loaded.error;
  }
  // The listener's part first: if it fails, the targets stay as they are too.
  const WebConfigResult web = resolveWebSecurity(loaded.config->web, options_.web_config_file);
  if (auto error = web.security ? http_.update(*web.security) : web.error) {
    recordLoad(false);
    spdlog::error("web configuration reload failed, keeping the running configuration: {}", *error);
    return error;
  }
  if (loaded.config->web.listen_address != listen_address_ && !options_.listen_address) {
    spdlog::warn("web.listen_address changed; it takes effect after a restart");
  }
  apply(*loaded.config);
  recordLoad(true);
  spdlog::info("configuration reloaded: {} targets", targets_.size());
  return std::nullopt;
}

void Agent::apply(const Config& config) {
  if (shard_info_) families_.shard_info.Remove(shard_info_);
  shard_info_ = &families_.shard_info.Add(
      {{"shard", std::to_string(config.shard.index)}, {"shards", std::to_string(config.shard.count)}});
  shard_info_->Set(1);
  const bool location_changed = config.location != location_;
  location_ = config.location;
  std::map<std::string, HeldTarget> next;
  for (const TargetSpec& spec : config.targets) {
    auto held = targets_.find(spec.name);
    if (held != targets_.end() && held->second.spec == spec && !location_changed) {
      next.emplace(spec.name, std::move(held->second));  // unchanged: keep everything
      targets_.erase(held);
      continue;
    }
    std::shared_ptr<TargetReporter> reporter;
    if (held != targets_.end()) {
      engine_.removeTarget(spec.name, close_code::normal);
      // Same labels: the series (and their counts) carry over.
      if (!location_changed && held->second.spec.labels == spec.labels) {
        reporter = held->second.reporter;
        reporter->reconfigure(spec);
      }
      targets_.erase(held);
      spdlog::info("target {} changed: reconnecting", spec.name);
    }
    if (!reporter) reporter = std::make_shared<TargetReporter>(families_, spec, location_, events_,
                                                                   options_.status_sample_interval);
    engine_.addTarget(spec, reporter);
    next.emplace(spec.name, HeldTarget{spec, std::move(reporter)});
  }
  for (auto& [name, held] : targets_) {
    engine_.removeTarget(name, close_code::normal);
    spdlog::info("target {} removed", name);
  }
  targets_ = std::move(next);  // reporters of removed targets go, with their series
}

void Agent::stop() {
  {
    std::lock_guard lock(reload_mutex_);
    if (stopped_) return;
    stopped_ = true;
    ready_ = false;
  }
  // Requests first: once http_.stop() returns no handler runs, so none can
  // ask the engine for its status while it goes (the engine answers a call
  // after its shutdown with nothing, but nothing should depend on that).
  http_.stop();
  engine_.shutdown(std::chrono::milliseconds(1500));
}

std::string Agent::renderMetrics() const {
  auto families = registry_->Collect();
  auto process = process_metrics_.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  std::string text;
  text.reserve(last_metrics_size_.load(std::memory_order_relaxed) * 9 / 8);  // written once, not regrown
  appendTextExposition(families, text);
  last_metrics_size_.store(text.size(), std::memory_order_relaxed);
  return text;
}

std::vector<TargetView> Agent::targetViews() {
  std::vector<TargetStatus> status = engine_.status();
  std::vector<TargetView> views;
  views.reserve(status.size());
  // targets_ changes under reload_mutex_ once ready_ is set (start() fills
  // it before): until then the engine's view alone.
  const bool started = ready_;
  std::unique_lock lock(reload_mutex_, std::defer_lock);
  if (started) lock.lock();
  for (TargetStatus& target : status) {
    TargetView view;
    if (started) {
      if (const auto held = targets_.find(target.name); held != targets_.end()) {
        view.labels = held->second.spec.labels;
        if (!location_.empty()) view.labels["location"] = location_;
        const TargetReporter::Summary summary = held->second.reporter->summary();
        view.idle_timeout_seconds = summary.idle_timeout_seconds;
        view.last_end = summary.last_end;
        view.last_end_at = summary.last_end_at;
        view.history = held->second.reporter->history(Clock::now());
      }
    }
    view.status = std::move(target);
    views.push_back(std::move(view));
  }
  return views;
}

void Agent::registerEndpoints() {
  http_.handle("/metrics", [this](const HttpRequest&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", renderMetrics()};
  });
  http_.handle("/-/healthy", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "Healthy\n"}; });
  http_.handle("/-/ready", [this](const HttpRequest&) {
    return ready_ ? HttpResponse{200, "text/plain", "Ready\n"}
                  : HttpResponse{503, "text/plain", "Not ready\n"};
  });
  http_.handle("/-/reload", [this](const HttpRequest& request) {
    if (request.method != "POST" && request.method != "PUT") {
      return HttpResponse{405, "text/plain", "Only POST or PUT requests allowed\n"};
    }
    if (auto error = reload()) return HttpResponse{500, "text/plain", "failed to reload config: " + *error + "\n"};
    return HttpResponse{200, "text/plain", "OK\n"};
  });
  http_.handle("/api/v1/targets", [this](const HttpRequest&) {
    return HttpResponse{200, "application/json", targetsJson(targetViews())};
  });
  http_.handle("/api/v1/events", [this](const HttpRequest&) {
    return HttpResponse{200, "application/json", eventsJson(events_.recent(200))};
  });
  http_.handle("/", [this](const HttpRequest&) {
    return HttpResponse{200, "text/html; charset=utf-8",
                        statusPage(targetViews(), events_.recent(50), buildInfo().version,
                                   std::chrono::system_clock::now())};
  });
}

}  // namespace wsprobe
