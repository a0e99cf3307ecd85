// The JSON API and the human status page, rendered from the engine's status
// and the event log. JSON through nlohmann::json; HTML with every value
// escaped. Nothing here sees a secret: specs are not passed in.
#pragma once

#include <string>
#include <vector>

#include "agent/event_log.h"
#include "probes/engine.h"

namespace wsprobe {

std::string targetsJson(const std::vector<TargetStatus>& targets);
std::string eventsJson(const std::vector<ConnectionEvent>& events);
std::string statusPage(const std::vector<TargetStatus>& targets,
                       const std::vector<ConnectionEvent>& events, const std::string& version);
std::string htmlEscape(std::string_view text);

}  // namespace wsprobe
