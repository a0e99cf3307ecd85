// A target as the engine holds it: its spec, its observer, its connections'
// keys, and the counts that make wsprobe_target_up and connections_open.
#pragma once

#include <memory>
#include <vector>

#include <re2/re2.h>

#include "deadline_queue.h"
#include "idle_timeout_estimator.h"
#include "probe_observer.h"
#include "target_spec.h"

struct lws_vhost;

namespace wsprobe {

struct ProbedTarget {
  ProbedTarget(TargetSpec target_spec, std::shared_ptr<ProbeObserver> target_observer);

  TargetSpec spec;
  std::shared_ptr<ProbeObserver> observer;
  std::vector<DeadlineQueue::Key> connections;
  lws_vhost* vhost = nullptr;         // the vhost carrying this target's TLS CA
  std::string subprotocols_header;    // "a, b" or empty
  std::string basic_authorization;    // "Basic ..." from URL userinfo, or empty
  std::unique_ptr<RE2> heartbeat_expect;  // heartbeat = message

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
};

}  // namespace wsprobe
