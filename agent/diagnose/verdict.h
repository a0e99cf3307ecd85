// The verdict of `wsprobe diagnose`: what the observations point to, from a
// table of patterns operators know from chasing 1006s. Pure: the same
// observations always give the same findings, so it is tested with a table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/diagnose/observations.h"

namespace wsprobe::diagnose {

enum class Severity {
  ok,       // nothing wrong
  note,     // worth knowing, not a fault (a bound the run could establish)
  problem,  // something ends or refuses connections: exit status 1
};
std::string_view toString(Severity severity);

struct Finding {
  std::string id;  // stable: "idle_timeout", "pings_ignored", ... (for --json and scripts)
  Severity severity = Severity::note;
  std::string summary;            // one sentence
  std::string detail;             // what it points to and what to do
  std::optional<double> seconds;  // the timeout or lifetime the finding is about
};

std::vector<Finding> judge(const Observations& seen);

// The application protocol a server most likely expects, from its URL and a
// close it sent (code, reason): "socketio", "graphql-ws", ...; empty when
// nothing points to one.
std::string likelyProtocol(std::string_view url, int code, std::string_view reason);

// 0 when no finding is a problem, 1 otherwise.
int exitStatus(const std::vector<Finding>& findings);

// What an HTTP status in answer to a WebSocket upgrade usually means.
std::string meaningOfHttpStatus(int status);
// The usual suspects for an idle timeout of about `seconds` (30, 60, 100 s);
// empty when none is known.
std::string suspectsFor(double seconds);
// "3.0 s", "60 s": how the report writes a timeout.
std::string formatSeconds(double seconds);

}  // namespace wsprobe::diagnose
