// Debian's nginx as a WebSocket reverse proxy for tests: its own prefix,
// configuration, logs and pid file in a temporary directory, one process
// (no master, no workers), listening on a free loopback port, proxying to an
// upstream on loopback with the given read and send timeouts.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "support/child_process.h"

namespace wsprobe::testing {

class NginxProxy {
 public:
  struct Options {
    int upstream_port = 0;
    std::chrono::milliseconds read_timeout{3000};  // proxy_read_timeout
    std::chrono::milliseconds send_timeout{3000};  // proxy_send_timeout
  };

  // The nginx binary, or empty when it is not installed.
  static std::string binary();

  // Starts nginx and waits until it accepts connections. Throws
  // std::runtime_error with nginx's error log when it does not start.
  explicit NginxProxy(Options options);
  // Stops nginx (SIGTERM, then SIGKILL after 3 s).
  ~NginxProxy();
  NginxProxy(const NginxProxy&) = delete;
  NginxProxy& operator=(const NginxProxy&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view path = "/") const;
  std::string errorLog() const;

 private:
  bool start(const Options& options, std::string* why);

  TempDir directory_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace wsprobe::testing
