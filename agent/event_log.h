// The most recent connection events (opens, ends, handshake failures), kept
// for /api/v1/events and the status page. Thread-safe; bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "probes/connection_end.h"

namespace wsprobe {

struct ConnectionEvent {
  enum class Kind { open, close, handshake_failure };
  Kind kind = Kind::open;
  std::chrono::system_clock::time_point at;
  std::string target;
  ConnectionMode mode = ConnectionMode::heartbeat;
  std::optional<ConnectionEnd> end;          // kind close
  std::optional<ConnectionFailure> failure;  // kind handshake_failure
  std::optional<Duration> handshake;         // kind open
};

std::string_view toString(ConnectionEvent::Kind kind);

class EventLog {
 public:
  explicit EventLog(std::size_t capacity = 500) : capacity_(capacity) {}
  void add(ConnectionEvent event);
  std::vector<ConnectionEvent> recent(std::size_t limit) const;  // newest first

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<ConnectionEvent> events_;
};

}  // namespace wsprobe
