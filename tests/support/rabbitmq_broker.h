// A private RabbitMQ node (Debian's rabbitmq-server) with its web-stomp
// plugin, for the STOMP integration tests: run as the current user, with its
// configuration, database, logs and Erlang cookie in a temporary directory
// and every port picked free here, so it touches nothing of the system's
// node. Its guest/guest user may log in from loopback.
//
// Booting takes about 11 s of CPU (minutes on a loaded machine), so a test
// process starts one broker at most: shared() starts it on first use and it
// stops when the process exits. ctest runs each test case in its own process:
// keep STOMP test cases few.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "support/server_process.h"

namespace wsprobe::testing {

class RabbitMqBroker {
public:
  // Whether Debian's rabbitmq-server is installed.
  static bool installed();
  // The broker of this test process, started on first use (REQUIREs that
  // web-stomp accepts within `timeout`).
  static RabbitMqBroker &
  shared(std::chrono::milliseconds timeout = std::chrono::seconds(75));

  // ws://127.0.0.1:<port>/stomp (web_stomp.ws_path; RabbitMQ's default is /ws)
  std::string webStompUrl() const;
  int webStompPort() const { return process_->port(); }
  std::string output() const { return process_->output(); }

private:
  RabbitMqBroker() = default;
  TempDir directory_; // declared first: removed after the process stopped
  std::unique_ptr<ServerProcess> process_;
};

// A STOMP client that SENDs a message to `destination` every `period`
// through web-stomp (node tests/servers/stomp_publisher.js), until stop().
class StompPublisher {
public:
  // REQUIREs that it connected within `timeout`.
  StompPublisher(const std::string &url, const std::string &destination,
                 std::chrono::milliseconds period,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void stop() { process_->stop(); }

private:
  std::unique_ptr<ServerProcess> process_;
};

} // namespace wsprobe::testing
