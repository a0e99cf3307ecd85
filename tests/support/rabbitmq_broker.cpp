#include "support/rabbitmq_broker.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/agent_under_test.h"
#include "support/scrape.h"

namespace wsprobe::testing {

namespace {

constexpr const char *kRabbitMqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";

} // namespace

bool RabbitMqBroker::installed() {
  return ::access(kRabbitMqServer, X_OK) == 0;
}

RabbitMqBroker &RabbitMqBroker::shared(std::chrono::milliseconds timeout) {
  static std::unique_ptr<RabbitMqBroker> broker;
  if (broker)
    return *broker;
  REQUIRE(installed());
  std::unique_ptr<RabbitMqBroker> started(new RabbitMqBroker());
  const TempDir &dir = started->directory_;
  const int web_stomp_port = closedPort();
  const int amqp_port = closedPort();
  const int distribution_port = closedPort();
  // web-stomp needs the STOMP plugin, whose own TCP listener stays off.
  dir.write("rabbitmq.conf",
            "listeners.tcp.default = 127.0.0.1:" + std::to_string(amqp_port) +
                "\n"
                "stomp.listeners.tcp = none\n"
                "web_stomp.tcp.ip = 127.0.0.1\n"
                "web_stomp.tcp.port = " +
                std::to_string(web_stomp_port) +
                "\n"
                // Not RabbitMQ's default /ws: a path that says STOMP, so
                // that protocol auto has its hint (README).
                "web_stomp.ws_path = /stomp\n"
                "loopback_users = none\n");
  dir.write("enabled_plugins", "[rabbitmq_web_stomp].\n");
  const std::vector<std::string> environment = {
      "HOME=" + dir.path(), // the Erlang cookie
      "RABBITMQ_NODENAME=wsprobe-test-" + std::to_string(::getpid()) +
          "@localhost",
      "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
      "RABBITMQ_NODE_PORT=" + std::to_string(amqp_port),
      "RABBITMQ_DIST_PORT=" + std::to_string(distribution_port),
      "RABBITMQ_CONFIG_FILE=" + dir.file("rabbitmq.conf"),
      "RABBITMQ_ADVANCED_CONFIG_FILE=" + dir.file("advanced.config"), // absent
      "RABBITMQ_CONF_ENV_FILE=/dev/null",
      "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir.file("enabled_plugins"),
      "RABBITMQ_MNESIA_BASE=" + dir.file("mnesia"),
      "RABBITMQ_LOG_BASE=" + dir.file("log"),
      "RABBITMQ_LOGS=-",
      // The script then execs erl (no shell in between), so the child is the
      // Erlang VM itself and SIGTERM stops it.
      "RABBITMQ_ALLOW_INPUT=1",
  };
  started->process_ = ServerProcess::startOnPort(
      {kRabbitMqServer, "-noinput"}, web_stomp_port, timeout, environment);
  broker = std::move(started);
  return *broker;
}

std::string RabbitMqBroker::webStompUrl() const {
  return "ws://127.0.0.1:" + std::to_string(webStompPort()) + "/stomp";
}

StompPublisher::StompPublisher(const std::string &url,
                               const std::string &destination,
                               std::chrono::milliseconds period,
                               std::chrono::milliseconds timeout)
    : process_(ServerProcess::node(
          "stomp_publisher.js",
          {url, destination, std::to_string(period.count())}, timeout)) {}

} // namespace wsprobe::testing
