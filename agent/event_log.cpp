#include "event_log.h"

namespace wsprobe {

std::string_view toString(ConnectionEvent::Kind kind) {
  switch (kind) {
    case ConnectionEvent::Kind::open: return "open";
    case ConnectionEvent::Kind::close: return "close";
    case ConnectionEvent::Kind::handshake_failure: return "handshake_failure";
  }
  return "unknown";
}

void EventLog::add(ConnectionEvent event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
}

std::vector<ConnectionEvent> EventLog::recent(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionEvent> out;
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < limit; ++it) out.push_back(*it);
  return out;
}

}  // namespace wsprobe
