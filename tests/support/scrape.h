// Reading values out of a Prometheus text exposition, and waiting for them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace wsprobe::testing {

// Sum of every sample of `name` whose labels include all of `labels`;
// nullopt when no sample matches.
std::optional<double> sampleValue(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Scrapes 127.0.0.1:port/metrics until the sample reaches `at_least`.
bool waitForMetric(int port, const std::string& name, const std::map<std::string, std::string>& labels,
                   double at_least, std::chrono::milliseconds timeout, std::string* last_scrape = nullptr);

}  // namespace wsprobe::testing
