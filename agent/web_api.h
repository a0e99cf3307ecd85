// The JSON API and the human status page, rendered from the engine's status,
// what the agent knows of each target, and the event log. JSON through
// nlohmann::json; HTML with every value escaped. Nothing here sees a secret:
// specs (URLs, headers) are not passed in.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/event_log.h"
#include "agent/status_history.h"
#include "probes/engine.h"

namespace wsprobe {

// One target as the page and /api/v1/targets show it.
struct TargetView {
  TargetStatus status;
  // Static labels and location: free text from the configuration.
  std::map<std::string, std::string> labels;
  // The idle-timeout estimate in seconds once known; +Inf when the idle
  // connection outlived idle_probe_max (no idle timeout found).
  std::optional<double> idle_timeout_seconds;
  // The most recent end of any of the target's connections, and when.
  std::optional<ConnectionEnd> last_end;
  std::optional<std::chrono::system_clock::time_point> last_end_at;
  // The samples the page charts; empty before the agent started.
  std::optional<StatusHistory::Snapshot> history;
};

std::string targetsJson(const std::vector<TargetView>& targets);
std::string eventsJson(const std::vector<ConnectionEvent>& events);
// `now` renders "how long ago". Charts the first 60 targets with a history,
// those down first (a chart costs about 11 KB of page per target).
std::string statusPage(const std::vector<TargetView>& targets,
                       const std::vector<ConnectionEvent>& events, const std::string& version,
                       std::chrono::system_clock::time_point now);
std::string htmlEscape(std::string_view text);

}  // namespace wsprobe
