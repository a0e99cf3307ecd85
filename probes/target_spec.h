// What the engine is asked to probe: one target, fully resolved (defaults
// applied, ${VAR} expanded, URL parsed). Built by agent/config, read by the
// engine. Equality decides, on reload, whether a target is "unchanged".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "clock.h"
#include "websocket_url.h"

namespace wsprobe {

enum class Heartbeat { ping, message };

struct TlsSettings {
  std::string ca_file;               // empty: the system CAs
  bool insecure_skip_verify = false;
  std::string server_name;           // empty: the URL's host
  bool operator==(const TlsSettings&) const = default;
};

struct TargetSpec {
  std::string name;                  // the `target` label
  WebSocketUrl url;
  int connections = 1;               // held heartbeat connections
  Heartbeat heartbeat = Heartbeat::ping;
  std::string heartbeat_message = R"({"type":"ping"})";
  std::string heartbeat_expect = "pong";  // RE2 pattern (heartbeat = message)
  Duration ping_interval = std::chrono::seconds(20);
  Duration pong_timeout = std::chrono::seconds(10);
  Duration connect_timeout = std::chrono::seconds(10);
  bool idle_probe = false;
  Duration idle_probe_max = std::chrono::minutes(15);
  Duration backoff_initial = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::seconds(30);
  double backoff_multiplier = 2.0;
  std::vector<std::string> subprotocols;
  std::string origin;
  // Sent as given; values may hold secrets and are never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string> labels;  // static labels for the series
  TlsSettings tls;

  // The application protocol (SPEC "Application protocols and data flow"):
  // "auto", "raw" or a name of probes/protocols/protocol_table.h.
  std::string protocol = "auto";
  // The `session` table as JSON text (an object; nlohmann's dump, keys
  // sorted); "{}" when not configured. May hold secrets: never logged.
  std::string session_json = "{}";
  std::vector<std::string> subscribe;  // what to subscribe to once the session is ready
  // A server data message must arrive at least this often on a heartbeat
  // connection, else it is closed as `stale`; zero: not checked.
  Duration message_timeout{};

  bool operator==(const TargetSpec&) const = default;
};

}  // namespace wsprobe
