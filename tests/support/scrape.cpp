#include "support/scrape.h"

#include <sstream>
#include <thread>

#include "support/http_client.h"
#include "support/time_scale.h"

namespace wsprobe::testing {

namespace {
std::map<std::string, std::string> parseLabels(const std::string& text) {
  std::map<std::string, std::string> labels;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto equals = text.find('=', at);
    if (equals == std::string::npos || equals + 1 >= text.size() || text[equals + 1] != '"') break;
    std::string value;
    std::size_t i = equals + 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      value += text[i];
    }
    labels[text.substr(at, equals - at)] = value;
    at = i + 1;
    if (at < text.size() && text[at] == ',') ++at;
  }
  return labels;
}
}  // namespace

std::optional<double> sampleValue(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  std::istringstream in(exposition);
  std::optional<double> sum;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.compare(0, name_end, name) != 0 ||
        name_end != name.size()) {
      continue;
    }
    std::map<std::string, std::string> present;
    std::size_t value_at = name_end + 1;
    if (line[name_end] == '{') {
      const auto close = line.rfind('}');
      present = parseLabels(line.substr(name_end + 1, close - name_end - 1));
      value_at = close + 2;
    }
    bool matches = true;
    for (const auto& [key, value] : labels) {
      const auto found = present.find(key);
      if (found == present.end() || found->second != value) matches = false;
    }
    if (!matches) continue;
    sum = sum.value_or(0) + std::stod(line.substr(value_at));
  }
  return sum;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

bool waitForMetric(int port, const std::string& name, const std::map<std::string, std::string>& labels,
                   double at_least, std::chrono::milliseconds timeout, std::string* last_scrape) {
  return waitFor(
      [&] {
        const auto scrape = httpGet(port, "/metrics");
        if (last_scrape) *last_scrape = scrape.body;
        const auto value = sampleValue(scrape.body, name, labels);
        return value && *value >= at_least;
      },
      timeout);
}

}  // namespace wsprobe::testing
