// How the engine reports what it measures. One observer per target; agent/
// implements it (metrics, events, logs). Every call comes from the engine's
// service thread, so implementations keep references to their series and do
// no lookups here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "probes/connection_end.h"
#include "probes/handshake_phases.h"

namespace wsprobe {

class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;

  // A connection attempt started; `replacing` is true when it replaces a
  // connection that had been open (a reconnect).
  virtual void onAttempt(ConnectionMode mode, bool replacing) = 0;
  // The attempt never opened.
  virtual void onFailure(ConnectionMode mode, const ConnectionFailure& failure) = 0;
  // The handshake of an attempt that reached the network ended: at the
  // server's answer to the upgrade (before onOpen), or before onFailure.
  virtual void onHandshakePhases(ConnectionMode /*mode*/, const HandshakePhases& /*phases*/) {}
  // 101 Switching Protocols arrived `handshake` after the attempt started.
  virtual void onOpen(ConnectionMode mode, Duration handshake) = 0;
  // An open connection ended.
  virtual void onEnd(const ConnectionEnd& end) = 0;
  // A heartbeat was answered after `rtt`.
  virtual void onRoundTrip(Duration rtt) = 0;
  // Open connections of `mode` now, and whether the target counts as up
  // (at least one heartbeat connection open and answering).
  virtual void onOpenCount(ConnectionMode mode, int open) = 0;
  virtual void onUp(bool up) = 0;
  // Data frames (heartbeat = "message").
  virtual void onMessageSent() = 0;
  virtual void onMessageReceived() = 0;
  // The estimated idle timeout of the path, once known (seconds; +Inf for
  // "none below idle_probe_max").
  virtual void onIdleTimeoutEstimate(double seconds) = 0;
  // The application protocol's own request/reply completed (SPEC: app RTT).
  virtual void onAppRoundTrip(Duration /*rtt*/) {}
  // Time between two consecutive server data messages on one connection.
  virtual void onMessageGap(Duration /*gap*/) {}
  // At a heartbeat answer: the kernel's smoothed TCP RTT of the connection,
  // and the retransmissions since the previous answer (TCP_INFO).
  virtual void onTcpPath(Duration /*smoothed_rtt*/, std::uint32_t /*new_retransmits*/) {}
  // protocol = "auto" recognised the target's protocol (once per decision).
  virtual void onProtocolDetected(std::string_view /*protocol*/) {}
  // A wss:// connection opened: the negotiated TLS version and cipher, and
  // the earliest notAfter (unix seconds) of the chain the server presented
  // (empty when unknown).
  virtual void onTlsSession(std::string_view /*version*/, std::string_view /*cipher*/,
                            std::optional<double> /*earliest_not_after*/) {}
};

}  // namespace wsprobe
