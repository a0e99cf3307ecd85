// A real protocol server started by a test (node tests/servers/*.js,
// mosquitto, ...) in a child process, and the port it listens on. The server
// says where it listens with a line "listening <port>" on stdout (a node
// script), or the test names the port it chose (closedPort()) and waits for
// it to accept connections.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace wsprobe::testing {

class ServerProcess {
 public:
  // Starts argv and waits (at most `timeout`) for "listening <port>" in its
  // output. REQUIREs that it comes; the output is logged if not.
  static std::unique_ptr<ServerProcess> startAnnouncing(
      const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
      const std::vector<std::string>& extra_env = {});
  // Starts argv and waits (at most `timeout`) until 127.0.0.1:`port` accepts.
  static std::unique_ptr<ServerProcess> startOnPort(const std::vector<std::string>& argv, int port,
                                                    std::chrono::milliseconds timeout,
                                                    const std::vector<std::string>& extra_env = {});
  // A node script of tests/servers/ with its arguments.
  static std::unique_ptr<ServerProcess> node(const std::string& script,
                                             const std::vector<std::string>& args = {},
                                             std::chrono::milliseconds timeout = std::chrono::seconds(20));

  ~ServerProcess();
  int port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  std::string output() const { return readFile(output_file_); }
  // SIGTERM, then SIGKILL if it does not exit within two seconds.
  void stop();
  // Lines the server printed that start with `prefix` (a server may report
  // what it saw: "closes 3").
  std::vector<std::string> linesStartingWith(const std::string& prefix) const;

 private:
  ServerProcess() = default;
  TempDir directory_;
  std::string output_file_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

// The directory of the test servers' scripts (tests/servers).
std::string testServersDirectory();

}  // namespace wsprobe::testing
