// `wsprobe demo`: misbehaving endpoints on loopback and the built-in
// configuration that probes them. The integration tests use the same set.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"

namespace wsprobe {

namespace endpoints {
class MisbehavingEndpoint;
}

class DemoEndpoints {
 public:
  struct Entry {
    std::string target;       // the target name the demo gives it
    std::string description;  // what it does wrong
    std::unique_ptr<endpoints::MisbehavingEndpoint> endpoint;
  };
  DemoEndpoints();
  ~DemoEndpoints();
  std::size_t count() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }
  const endpoints::MisbehavingEndpoint& endpoint(const std::string& target) const;

 private:
  std::vector<Entry> entries_;
};

std::unique_ptr<DemoEndpoints> startDemoEndpoints();
// Probes every demo endpoint: pings every 2 s, 3 s pong timeout, an idle
// probe on the idle-timeout endpoint.
ConfigResult demoConfig(const DemoEndpoints& endpoints);

}  // namespace wsprobe
