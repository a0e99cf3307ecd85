// The TCP connection attempts a network namespace makes to one server, as
// the wire saw them: Debian's tshark runs inside the namespace on its end of
// the veth with a capture filter for SYN without ACK to host:port, and prints
// each SYN's capture time, source port and raw sequence number. A
// retransmitted SYN repeats the port and the sequence number, so each attempt
// counts once, at the time of its first SYN.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/network_namespace.h"

namespace wsprobe::testing {

struct SynAttempt {
  double at = 0;  // capture time of the first SYN, seconds since the epoch (CLOCK_REALTIME)
  int source_port = 0;
  std::uint32_t sequence = 0;
  int retransmissions = 0;  // SYNs of the same attempt after the first
};

class SynCapture {
 public:
  SynCapture(const NetworkNamespace& ns, const std::string& host, int port);
  ~SynCapture();  // stop()
  SynCapture(const SynCapture&) = delete;
  SynCapture& operator=(const SynCapture&) = delete;

  // Connects to host:port from inside the namespace (and closes again) until
  // tshark shows that connection's SYN: from then on no SYN to the port is
  // missed. The probe connections are among attempts().
  bool waitUntilCapturing(std::chrono::milliseconds timeout);
  // Every attempt captured so far, by the time of its first SYN.
  std::vector<SynAttempt> attempts() const;
  // Stops tshark (SIGINT: it then writes what it captured and dropped to log()).
  void stop();
  std::string log() const { return readFile(output_); }

 private:
  // Connects once from inside the namespace; the local port, 0 if it failed.
  int probeConnection() const;

  const NetworkNamespace& ns_;
  std::string host_;
  int port_;
  TempDir directory_;
  std::string output_;
  std::unique_ptr<ChildProcess> child_;
};

// The most attempts whose first SYNs fall in one window of `width` seconds
// (each window starting at an attempt), and where that window starts.
struct BusiestWindow {
  std::size_t attempts = 0;
  double from = 0;
};
BusiestWindow busiestWindow(std::vector<double> times, double width);
// How many of `times` (not negative) fall in [0, width), [width, 2 width), ...
// up to the last: "6 18 0 256".
std::string countsPerWindow(const std::vector<double>& times, double width);

}  // namespace wsprobe::testing
