// What the fault matrix's test cases share: the wsprobe binary running in a
// network namespace, a watch that scrapes it all along, the books every
// target's counters must balance, and the table each case prints.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/child_process.h"
#include "support/network_namespace.h"
#include "support/wsprobe_binary.h"

namespace wsprobe::testing {

using Labels = std::map<std::string, std::string>;

// The built wsprobe binary inside `ns` (`ip netns exec`, so it sees the
// namespace's resolv.conf), listening on the namespace's address.
class NamespacedDaemon {
 public:
  NamespacedDaemon(const NetworkNamespace& ns, const std::string& config);
  // SIGTERM, then waits for the exit.
  ~NamespacedDaemon();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return daemon_->process().pid(); }
  std::string log() const { return daemon_->output(); }

  std::string scrape() const;  // empty when no answer
  std::optional<double> metric(const std::string& name, const Labels& labels = {}) const;
  bool waitForMetric(const std::string& name, const Labels& labels, double at_least,
                     std::chrono::milliseconds timeout) const;

 private:
  TempDir directory_;
  std::unique_ptr<WsprobeBinary> daemon_;
  std::string host_;
  int port_ = 0;
};

// Scrapes /metrics every 200 ms on a thread of its own from construction to
// stop(): did the agent keep serving while faults hit its targets?
class ScrapeWatch {
 public:
  ScrapeWatch(const std::string& host, int port);
  ~ScrapeWatch();
  void stop();
  int scrapes() const { return scrapes_; }
  int failures() const { return failures_; }
  double slowestSeconds() const { return slowest_us_ / 1e6; }
  std::string summary() const;

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<int> scrapes_{0};
  std::atomic<int> failures_{0};
  std::atomic<long> slowest_us_{0};
  std::thread thread_;
};

// One sample of an exposition: its labels and value.
struct Sample {
  Labels labels;
  double value = 0;
};
std::vector<Sample> samplesOf(const std::string& exposition, const std::string& name);
// "1006 pong_timeout x1, 1006 abnormal x2" for the target's disconnects;
// "none" when there are none.
std::string disconnectSummary(const std::string& exposition, const std::string& target);
// "dns x3" for the target's failures (with the status when there is one).
std::string failureSummary(const std::string& exposition, const std::string& target);

// The books of one target, which must balance whenever no attempt is in
// flight: attempts = opens + failures, opens = open now + disconnects,
// disconnects = ended lifetimes. Empty when they balance, else what differs.
std::string unbalancedBooks(const std::string& exposition, const std::string& target);

struct FaultRow {
  FaultRow() = default;
  FaultRow(std::string fault_text, std::string expected_text, std::string observed_text, bool held_here)
      : fault(std::move(fault_text)),
        expected(std::move(expected_text)),
        observed(std::move(observed_text)),
        held(held_here) {}

  std::string fault;
  std::string expected;
  std::string observed;
  bool held = false;
};
// Prints the rows as a Markdown table on stdout (and appends them to the
// file $WSPROBE_FAULT_TABLE when set).
void printFaultTable(const std::string& title, const std::vector<FaultRow>& rows);

}  // namespace wsprobe::testing
