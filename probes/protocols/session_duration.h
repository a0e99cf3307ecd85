// Durations in a protocol's `session` table ("30s", "1m30s", "250ms"), the
// same form as the configuration's own durations. The config parser lives in
// agent/, which probes/ may not include, so the codecs read theirs here.
#pragma once

#include <optional>
#include <string_view>

#include "probes/clock.h"

namespace wsprobe {

// A positive duration written as numbers with units (ms, s, m, h), or
// std::nullopt when `text` is not one.
std::optional<Duration> parseSessionDuration(std::string_view text);

}  // namespace wsprobe
