// Log set-up: --log.level and --log.format (text or JSON lines on stderr).
#pragma once

#include <optional>
#include <string>

namespace wsprobe {

// Returns an error for an unknown level or format.
std::optional<std::string> setUpLogging(const std::string& level, const std::string& format);

}  // namespace wsprobe
