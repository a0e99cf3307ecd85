// The probing engine: one libwebsockets context on one service thread holding
// every connection of every target. Other threads talk to it only through
// these methods, which queue work for the service thread. libwebsockets stays
// behind this header.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "connection_end.h"
#include "probe_observer.h"
#include "target_spec.h"

namespace wsprobe {

// A point-in-time view of one held connection, for the API and status page.
struct ConnectionStatus {
  ConnectionMode mode = ConnectionMode::heartbeat;
  std::string state;         // "waiting", "connecting", "session", "open", "closing"
  Duration age{};            // since open (state "open") or since the attempt started
  std::optional<Duration> last_rtt;
  std::optional<ConnectionEnd> last_end;
  std::optional<ConnectionFailure> last_failure;
  std::optional<Duration> next_retry_in;  // state "waiting"
  std::optional<Duration> last_message_age;  // since the last server data message (open)
};

struct TargetStatus {
  std::string name;
  bool up = false;
  std::string protocol;         // as configured ("auto", "raw", "socketio", ...)
  std::string protocol_in_use;  // what "auto" decided, or the configured one; empty: not yet known
  std::vector<ConnectionStatus> connections;
};

class Engine {
 public:
  struct Settings {
    // Deadlines closer together than this are served by one wake-up (the
    // timer itself fires to the nanosecond, a timerfd). Heartbeats due within
    // it leave together, and a server answers pings that arrive together one
    // after another: a wsprobe batching them measures its own bursts (issue
    // 9). 100 us is the spacing of 10,000 connections at 1 ping/s, so a
    // wake-up sends at most two pings; 1 ms sent bursts of ~10-20 pings and
    // doubled the RTT reported at 10,000 connections. 50 us gave one ping per
    // wake-up but cost 53 us of CPU per ping there against 42 us (bench, same
    // server, quiet machine; the reference client's was 51), for 9 us of mean.
    Duration timer_slack = std::chrono::microseconds(100);
    // Draws in [0, 1] for the reconnect jitter; empty: a randomly seeded
    // generator. Tests pin it to 1 to see the backoff's ceilings themselves.
    std::function<double()> unit_random;
    // Handshakes in flight at once; more attempts wait their turn before they
    // start. Each holds about 5 KB of libwebsockets header space, and
    // thousands at once would hit the probed server as a thundering herd.
    int max_attempts_in_flight = 256;
    // How fast attempts start, all targets together (probes/attempt_pacer.h):
    // a server that accepts a batch at once must not get a batch of SYNs
    // back. 2,500 a second is the pace herdWindow() spreads a target's
    // first reconnections at; a burst of 25 after a pause.
    double attempts_per_second = 2500.0;
    int attempts_burst = 25;
  };

  Engine();
  explicit Engine(Settings settings);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Creates the context and starts the service thread. Every other call
  // made before start() succeeds, or after shutdown() began, does nothing
  // (status() is empty); calls racing shutdown() end either way, never hang.
  bool start(std::string* error);

  // Starts holding the target's connections. The observer is called on the
  // service thread until removeTarget() for that name returns.
  void addTarget(const TargetSpec& spec, std::shared_ptr<ProbeObserver> observer);

  // Closes the target's connections with `close_code` (cause agent; the ends
  // are reported first) and forgets it. Blocks until the service thread has
  // done so; afterwards the target's observer is never called again.
  void removeTarget(const std::string& name, int close_code = 1000);

  // Closes every connection with 1001 (reported as cause agent), waits at
  // most `grace` for the close handshakes (the service thread says when the
  // last one has ended), and stops the service thread. Once is enough: later
  // calls, and the destructor, do nothing.
  void shutdown(Duration grace);

  std::vector<TargetStatus> status();

  static std::string libraryVersion();
  // Whether a pong's receive time is the kernel's receive stamp (plain ws://
  // connections; libwebsockets built with our recvmsg patch).
  static bool kernelReceiveStamps();
  // Whether a ping's send time is the kernel's transmit stamp (plain ws://;
  // libwebsockets built with our error-queue patch).
  static bool kernelTransmitStamps();

  struct Impl;  // engine.cpp: the libwebsockets side

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsprobe
