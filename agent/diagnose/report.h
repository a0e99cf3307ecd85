// The report `wsprobe diagnose` ends with: plain text for a person, or JSON
// (--json) for scripts. Pure functions of the observations and findings.
#pragma once

#include <string>
#include <vector>

#include "agent/diagnose/observations.h"
#include "agent/diagnose/verdict.h"

namespace wsprobe::diagnose {

std::string renderText(const Observations& seen, const std::vector<Finding>& findings);
std::string renderJson(const Observations& seen, const std::vector<Finding>& findings);

// "0.35 ms", "12.3 ms", "1.20 s": a measured duration as the report writes it.
std::string formatDuration(Duration duration);

}  // namespace wsprobe::diagnose
