// What `wsprobe diagnose` saw: the facts the verdict and the report are made
// from. Plain data, filled by the session and built by hand in the tests.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/connection_end.h"
#include "probes/target_spec.h"

namespace wsprobe::diagnose {

// The connections a diagnosis holds side by side.
enum class Probe {
  ping,     // RFC 6455 ping frames every ping interval
  idle,     // sends nothing at all
  message,  // a text frame every ping interval, answered by a matching reply
};
inline constexpr std::array<Probe, 3> kProbes = {Probe::ping, Probe::idle, Probe::message};

std::string_view key(Probe probe);    // "ping", "idle", "message"
std::string_view title(Probe probe);  // "pinged connection", ...

struct ProbeEnd {
  int code = close_code::abnormal;
  CloseCause cause = CloseCause::abnormal;
  std::string reason;
  Duration lifetime{};  // open to end
  Duration at{};        // since the diagnosis started
};

struct ProbeFailure {
  FailureStage stage = FailureStage::tcp;
  int http_status = 0;
  std::string detail;
  Duration at{};
  std::string session_status;  // stage session: the protocol's code or reason
};

struct ProbeRecord {
  bool ran = false;  // the message probe runs only with --message
  int attempts = 0;
  std::vector<Duration> handshakes;  // per open: connect start to 101
  std::vector<ProbeFailure> failures;
  std::vector<ProbeEnd> ends;              // ends while the diagnosis ran (not its own close at the finish)
  std::optional<Duration> open_at_finish;  // age of the connection still open at the finish
  std::vector<Duration> rtts;              // answered heartbeats
  std::vector<Duration> app_rtts;          // the application protocol's own request/reply
  std::vector<Duration> tcp_rtts;          // kernel smoothed RTT (TCP_INFO) at heartbeat answers
  int messages_sent = 0;
  int messages_received = 0;

  int opens() const { return static_cast<int>(handshakes.size()); }
  // The longest this probe was seen to stay open: an ended lifetime or the
  // age of the connection open at the finish.
  Duration longestOpen() const;
};

// The handshake phases of the diagnosis' own connections (every attempt of
// every probe), as libwebsockets' connection monitor timed them.
struct HandshakeRecord {
  std::vector<std::string> addresses;  // what DNS answered, at the last lookup
  std::string peer;                    // the address the last TCP connect went to
  // By HandshakePhase: the time of each phase an attempt went through.
  std::array<std::vector<Duration>, 4> times;

  std::vector<Duration>& of(HandshakePhase phase) { return times[static_cast<std::size_t>(phase)]; }
  const std::vector<Duration>& of(HandshakePhase phase) const {
    return times[static_cast<std::size_t>(phase)];
  }
};

struct Observations {
  std::string url;  // redacted: credentials never appear
  bool secure = false;
  Duration planned{};  // --duration
  Duration ran{};      // how long it actually ran
  bool interrupted = false;
  Duration ping_interval{};
  Duration pong_timeout{};
  std::string message;                    // --message; empty: no message probe
  std::string expect;                     // --expect
  std::vector<std::string> header_names;  // names only: values may be secrets
  std::vector<std::string> subprotocols;
  std::string protocol = "auto";  // --protocol
  std::string protocol_in_use;    // what auto decided (or the configured one); empty: never decided
  HandshakeRecord phases;
  std::string engine_error;  // the engine could not start: nothing was measured
  std::array<ProbeRecord, 3> probes;  // by Probe

  ProbeRecord& of(Probe probe) { return probes[static_cast<std::size_t>(probe)]; }
  const ProbeRecord& of(Probe probe) const { return probes[static_cast<std::size_t>(probe)]; }
};

// Summary statistics of a sample of durations (nearest-rank percentiles).
struct Spread {
  std::size_t count = 0;
  Duration min{}, p50{}, p99{}, max{};
};
std::optional<Spread> spreadOf(std::vector<Duration> samples);

double seconds(Duration duration);

}  // namespace wsprobe::diagnose
