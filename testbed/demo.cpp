#include "demo.h"

#include <stdexcept>

#include "testbed/misbehaving_endpoint.h"

namespace wsprobe {

using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

struct DemoSpec {
  const char* target;
  const char* description;
  EndpointBehaviour behaviour;
};

std::vector<DemoSpec> demoSpecs() {
  std::vector<DemoSpec> specs;
  specs.push_back({"healthy", "answers pings, echoes messages, never drops", {}});

  EndpointBehaviour idle;
  idle.idle_timeout = 10s;  // like nginx proxy_read_timeout, at 10 s
  specs.push_back({"idle-timeout", "drops connections quiet for 10 s, without a close frame", idle});

  EndpointBehaviour drops;
  drops.drop_after = 5s;
  specs.push_back({"drops", "ends every connection after 5 s without a close frame (1006)", drops});

  EndpointBehaviour closes;
  closes.close_after = 8s;
  closes.close_codes = {1011, 1012};
  closes.close_reason = "demo restart";
  specs.push_back({"server-close", "closes after 8 s with 1011, then 1012, in turn", closes});

  EndpointBehaviour flaky;
  flaky.refuse_status = 503;
  flaky.refuse_fraction = 0.5;
  // Connections that last forever would make one upgrade (and one refusal)
  // the whole story: a planned restart every 6 s keeps upgrades coming.
  flaky.close_after = 6s;
  flaky.close_codes = {1001};
  flaky.close_reason = "demo restart";
  specs.push_back({"flaky-upgrade", "refuses half of the upgrades with HTTP 503; restarts every 6 s (1001)", flaky});

  EndpointBehaviour silent;
  silent.answer_pings = false;
  specs.push_back({"no-pong", "never answers pings (a half-open connection)", silent});
  return specs;
}

}  // namespace

DemoEndpoints::DemoEndpoints() {
  for (auto& spec : demoSpecs()) {
    entries_.push_back({spec.target, spec.description,
                        std::make_unique<MisbehavingEndpoint>(spec.behaviour)});
  }
}

DemoEndpoints::~DemoEndpoints() = default;

const MisbehavingEndpoint& DemoEndpoints::endpoint(const std::string& target) const {
  for (const auto& entry : entries_) {
    if (entry.target == target) return *entry.endpoint;
  }
  throw std::out_of_range("no demo endpoint for target " + target);
}

std::unique_ptr<DemoEndpoints> startDemoEndpoints() { return std::make_unique<DemoEndpoints>(); }

ConfigResult demoConfig(const DemoEndpoints& endpoints) {
  Config config;
  config.location = "demo";
  config.web.listen_address = "127.0.0.1:9713";
  for (const auto& entry : endpoints.entries()) {
    TargetSpec spec;
    spec.name = entry.target;
    std::string error;
    const auto url = parseWebSocketUrl(entry.endpoint->url("/ws"), &error);
    if (!url) return {std::nullopt, "demo endpoint " + entry.target + ": " + error};
    spec.url = *url;
    spec.ping_interval = 2s;
    spec.pong_timeout = 3s;
    spec.connect_timeout = 5s;
    spec.backoff_initial = 500ms;
    spec.backoff_max = 5s;
    spec.connections = entry.target == "healthy" || entry.target == "drops" ? 2 : 1;
    spec.idle_probe = entry.target == "healthy" || entry.target == "idle-timeout";
    spec.labels = {{"scenario", "demo"}};
    config.targets.push_back(std::move(spec));
  }
  return {std::move(config), ""};
}

}  // namespace wsprobe
