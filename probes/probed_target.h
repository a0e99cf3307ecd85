// A target as the engine holds it: its spec, its observer, its connections'
// keys, and the counts that make wsprobe_target_up and connections_open.
#pragma once

#include <memory>
#include <vector>

#include <re2/re2.h>

#include "probes/deadline_queue.h"
#include "probes/idle_timeout_estimator.h"
#include "probes/probe_observer.h"
#include "probes/protocols/protocol_table.h"
#include "probes/target_spec.h"

struct lws_vhost;

namespace wsprobe {

struct ProbedTarget {
  ProbedTarget(TargetSpec target_spec, std::shared_ptr<ProbeObserver> target_observer);

  TargetSpec spec;
  std::shared_ptr<ProbeObserver> observer;
  std::vector<DeadlineQueue::Key> connections;
  lws_vhost* vhost = nullptr;         // the vhost carrying this target's TLS CA
  std::string subprotocols_header;    // "a, b" or empty: what the upgrade offers
  std::string basic_authorization;    // "Basic ..." from URL userinfo, or empty
  std::unique_ptr<RE2> heartbeat_expect;  // heartbeat = message
  // The application protocol: the configured one, or nullptr for "auto",
  // which decides on the first connection and keeps the decision in
  // protocol_in_use.
  const ProtocolEntry* protocol = nullptr;
  std::string protocol_in_use;
  SessionSettings session_settings;  // shared by every connection's codec

  // The heartbeat phase of connection `index` (heartbeat_schedule.h).
  Duration heartbeatPhase(int index) const;
  // "auto" recognised the protocol: kept for later connections, reported once.
  void protocolDetected(std::string_view name);

  void connectionOpened(ConnectionMode mode);
  void connectionClosed(ConnectionMode mode);
  void answeringChanged(int delta);
  // The idle connection ended, or lived to idle_probe_max (wsprobe closes
  // it then): feeds the estimator and reports a changed estimate.
  void idleConnectionEnded(const ConnectionEnd& end);
  void idleConnectionSurvived();
  bool up() const { return answering_ > 0; }

 private:
  int open_[2] = {0, 0};  // by ConnectionMode
  int answering_ = 0;     // open heartbeat connections that have answered
  void publishUp();
  bool published_up_ = false;
  IdleTimeoutEstimator idle_timeout_;
  Duration phase_base_{};   // the target's own offset inside ping_interval
  Duration phase_share_{};  // ping_interval / number of connections
};

}  // namespace wsprobe
