// The phases of a connection attempt's handshake, taken from the connection
// itself: libwebsockets' connection monitor (conmon) times the DNS lookup,
// the TCP connect, the TLS handshake and the upgrade of the real connection,
// and the transport's events say which phase an attempt had begun. A failed
// attempt is counted under the stage of the phase it reached. Pure: times
// are passed in, so it is tested without sockets.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probes/clock.h"
#include "probes/connection_end.h"

namespace wsprobe {

// What the connection monitor recorded for one attempt (libwebsockets'
// struct lws_conmon), in wsprobe's types. An interval is zero where it was
// not measured: the phase did not complete (conmon sets the TLS and upgrade
// intervals only on success) or was not gone through.
struct ConnectionTrace {
  enum class Dns {
    not_asked,    // no lookup was made
    resolved,     // the lookup gave addresses
    unreachable,  // the resolver could not be reached (EAI_AGAIN, EAI_FAIL, ...)
    no_result,    // the resolver answered, with nothing usable (NXDOMAIN, ...)
  };
  Dns dns = Dns::not_asked;
  std::vector<std::string> addresses;  // the lookup's answers, numeric, in the resolver's order
  std::string peer;                    // the address of the last TCP connect (empty: none)
  Duration dns_time{};                 // the lookup
  Duration tcp_time{};                 // connect() to connected (or to its failure)
  Duration tls_time{};                 // TLS handshake, once done
  Duration upgrade_time{};             // upgrade request sent to its response read
};

// How far an attempt got, and what each phase took.
struct HandshakePhases {
  // The phase the attempt was in when it ended; upgrade once the server
  // answered the upgrade request (`answered`).
  HandshakePhase reached = HandshakePhase::dns;
  bool answered = false;
  // The phases it went through to their end, in order, with their times
  // (the upgrade counts as gone through once answered, 101 or not).
  std::vector<std::pair<HandshakePhase, Duration>> completed;
  // Not answered: the time spent in `reached` before the attempt ended (the
  // attempt's time less the phases completed).
  Duration in_reached{};
  std::vector<std::string> addresses;  // as in ConnectionTrace
  std::string peer;
};

// `begun`: the last phase the transport reported as begun (dns when it
// reported none); the record can show more (a completed lookup means the
// TCP phase began). `answered`: a response to the upgrade request arrived.
// `secure`: wss://, the TLS phase is part of the handshake. `started` and
// `ended`: the attempt's start, and the moment it opened or failed.
HandshakePhases handshakePhases(const ConnectionTrace& trace, HandshakePhase begun, bool answered,
                                bool secure, TimePoint started, TimePoint ended);

// The failure stage (the wsprobe_connection_failures_total label) of an
// attempt that ended in `phases.reached` without opening: timeout when
// wsprobe's own connect_timeout ended it (dns if the lookup was still under
// way), http for an answer other than 101,
// protocol when the upgrade was answered but not accepted (or the server left
// before answering), else the stage named after the phase.
FailureStage failureStage(const HandshakePhases& phases, int http_status, bool timed_out);

}  // namespace wsprobe
