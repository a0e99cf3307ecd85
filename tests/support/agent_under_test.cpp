#include "support/agent_under_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "support/http_client.h"
#include "support/scrape.h"

namespace wsprobe::testing {

AgentUnderTest::AgentUnderTest(std::string config_text, Engine::Settings engine)
    : config_text_("[web]\nlisten_address = \"127.0.0.1:0\"\n" + config_text) {
  Agent::Options options;
  options.engine = std::move(engine);
  options.load_config = [this] {
    std::lock_guard lock(mutex_);
    return parseConfig(config_text_, "test.toml", processEnvironment());
  };
  agent_ = std::make_unique<Agent>(std::move(options));
  if (auto error = agent_->start()) throw std::runtime_error("agent did not start: " + *error);
}

AgentUnderTest::~AgentUnderTest() { agent_->stop(); }

void AgentUnderTest::setConfig(std::string text) {
  std::lock_guard lock(mutex_);
  config_text_ = "[web]\nlisten_address = \"127.0.0.1:0\"\n" + text;
}

std::string AgentUnderTest::scrape() const { return httpGet(port(), "/metrics").body; }

std::optional<double> AgentUnderTest::metric(const std::string& name, const Labels& labels) const {
  return sampleValue(scrape(), name, labels);
}

bool AgentUnderTest::waitForMetric(const std::string& name, const Labels& labels, double at_least,
                                   std::chrono::milliseconds timeout) const {
  std::string last;
  const bool reached = testing::waitForMetric(port(), name, labels, at_least, timeout, &last);
  if (!reached) UNSCOPED_INFO("last scrape:\n" << last);
  return reached;
}

std::string targetBlock(const std::string& name, const std::string& url, const std::string& extra) {
  // Fast timings, each unless `extra` sets the key itself.
  const std::pair<const char*, const char*> timings[] = {
      {"ping_interval", "200ms"}, {"pong_timeout", "1s"},       {"connect_timeout", "2s"},
      {"backoff_initial", "50ms"}, {"backoff_max", "200ms"}};
  std::string block = "[[target]]\nname = \"" + name + "\"\nurl = \"" + url + "\"\n";
  const std::string lines = "\n" + extra;
  for (const auto& [key, value] : timings) {
    if (lines.find("\n" + std::string(key) + " =") == std::string::npos) {
      block += std::string(key) + " = \"" + value + "\"\n";
    }
  }
  return block + extra + "\n";
}

int closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot bind a port on 127.0.0.1");
  }
  ::close(fd);  // never listened: connections to it are refused
  return ntohs(address.sin_port);
}

}  // namespace wsprobe::testing
