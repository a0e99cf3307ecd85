// A real Agent (engine, metrics, HTTP listener on 127.0.0.1:0) configured
// from TOML text, and the scrapes tests assert on. The text can be replaced
// and reloaded, as a file would be.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/agent.h"

namespace wsprobe::testing {

using Labels = std::map<std::string, std::string>;

class AgentUnderTest {
 public:
  explicit AgentUnderTest(std::string config_text, Engine::Settings engine = {});
  ~AgentUnderTest();

  Agent& agent() { return *agent_; }
  int port() const { return agent_->port(); }

  std::string scrape() const;
  // The sum of the samples of `name` that carry `labels`; nullopt: none.
  std::optional<double> metric(const std::string& name, const Labels& labels = {}) const;
  // Polls /metrics until the sample reaches `at_least`; on failure the last
  // scrape goes to the test log.
  bool waitForMetric(const std::string& name, const Labels& labels, double at_least,
                     std::chrono::milliseconds timeout) const;

  void setConfig(std::string text);

 private:
  mutable std::mutex mutex_;
  std::string config_text_;
  std::unique_ptr<Agent> agent_;
};

// A [[target]] block with the fast timings the tests use; `extra` adds lines.
std::string targetBlock(const std::string& name, const std::string& url, const std::string& extra = "");

// A TCP port on 127.0.0.1 with nothing listening (bound, then released).
int closedPort();

}  // namespace wsprobe::testing
