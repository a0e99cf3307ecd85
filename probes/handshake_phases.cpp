#include "probes/handshake_phases.h"

#include <algorithm>

namespace wsprobe {

namespace {

int rank(HandshakePhase phase) { return static_cast<int>(phase); }

HandshakePhase later(HandshakePhase a, HandshakePhase b) { return rank(a) >= rank(b) ? a : b; }

// The phase the record alone shows the attempt had reached.
HandshakePhase reachedByTrace(const ConnectionTrace& trace) {
  if (trace.upgrade_time > Duration::zero() || trace.tls_time > Duration::zero())
    return HandshakePhase::upgrade;
  if (trace.dns == ConnectionTrace::Dns::resolved) return HandshakePhase::tcp;
  return HandshakePhase::dns;
}

Duration timeOf(const ConnectionTrace& trace, HandshakePhase phase) {
  switch (phase) {
    case HandshakePhase::dns:
      return trace.dns_time;
    case HandshakePhase::tcp:
      return trace.tcp_time;
    case HandshakePhase::tls:
      return trace.tls_time;
    case HandshakePhase::upgrade:
      return trace.upgrade_time;
  }
  return Duration::zero();
}

}  // namespace

HandshakePhases handshakePhases(const ConnectionTrace& trace, HandshakePhase begun, bool answered,
                                bool secure, TimePoint started, TimePoint ended) {
  HandshakePhases phases;
  phases.answered = answered;
  phases.addresses = trace.addresses;
  phases.peer = trace.peer;
  const bool lookup_failed =
      trace.dns == ConnectionTrace::Dns::unreachable || trace.dns == ConnectionTrace::Dns::no_result;
  if (answered) {
    phases.reached = HandshakePhase::upgrade;
  } else if (lookup_failed) {
    phases.reached = HandshakePhase::dns;
  } else {
    phases.reached = later(begun, reachedByTrace(trace));
    // A connection without TLS goes from TCP to the upgrade.
    if (phases.reached == HandshakePhase::tls && !secure) phases.reached = HandshakePhase::upgrade;
  }

  Duration spent{};
  for (const HandshakePhase phase :
       {HandshakePhase::dns, HandshakePhase::tcp, HandshakePhase::tls, HandshakePhase::upgrade}) {
    if (phase == HandshakePhase::tls && !secure) continue;
    const bool done = rank(phase) < rank(phases.reached) || (phase == HandshakePhase::upgrade && answered);
    if (!done) break;
    phases.completed.emplace_back(phase, timeOf(trace, phase));
    spent += timeOf(trace, phase);
  }
  if (!answered) phases.in_reached = std::max(Duration::zero(), (ended - started) - spent);
  return phases;
}

FailureStage failureStage(const HandshakePhases& phases, int http_status, bool timed_out) {
  // A deadline that came while the name was still being looked up is a DNS
  // failure: the resolver did not answer in time.
  if (timed_out) return phases.reached == HandshakePhase::dns ? FailureStage::dns : FailureStage::timeout;
  if (http_status != 0 && http_status != 101) return FailureStage::http;
  switch (phases.reached) {
    case HandshakePhase::dns:
      return FailureStage::dns;
    case HandshakePhase::tcp:
      return FailureStage::tcp;
    case HandshakePhase::tls:
      return FailureStage::tls;
    case HandshakePhase::upgrade:
      return FailureStage::protocol;
  }
  return FailureStage::tcp;
}

}  // namespace wsprobe
