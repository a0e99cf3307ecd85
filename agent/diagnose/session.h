// One run of `wsprobe diagnose`: an engine of its own (no HTTP listener)
// holding a pinged, an idle and optionally a data-frame connection to one URL
// side by side, with live progress, until the duration ends or it is stopped.
#pragma once

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "agent/diagnose/observations.h"
#include "probes/engine.h"
#include "probes/target_spec.h"

namespace wsprobe::diagnose {

struct Request {
  WebSocketUrl url;
  Duration duration = std::chrono::minutes(2);
  Duration ping_interval = std::chrono::seconds(5);
  Duration pong_timeout = std::chrono::seconds(10);
  Duration connect_timeout = std::chrono::seconds(10);
  std::vector<std::pair<std::string, std::string>> headers;  // values may be secrets: never shown
  std::vector<std::string> subprotocols;
  std::string origin;
  TlsSettings tls;
  std::string message;  // non-empty: also hold a data-frame connection
  std::string expect = "pong";
  std::string protocol = "auto";  // --protocol: auto, raw or an application protocol
  // The connections start this far apart, so a timeout they share drops them
  // at different moments while one event (a crash) drops them together.
  Duration stagger = std::chrono::seconds(1);
  Engine::Settings engine;
};

// How progress is shown: one line rewritten in place on a terminal, plain
// event lines otherwise.
struct ProgressOutput {
  std::ostream* stream = nullptr;  // nullptr: no progress
  bool terminal = false;
  // Width of the terminal: the status line is cut to fit, since a wrapped
  // line cannot be rewritten in place.
  std::size_t columns = 80;
};

// Runs the diagnosis. `stop` ends it early (Ctrl-C); it also ends early when
// no connection could open after three attempts each.
Observations run(const Request& request, ProgressOutput progress, const std::atomic<bool>& stop);

}  // namespace wsprobe::diagnose
