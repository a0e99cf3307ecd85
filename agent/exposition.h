// The Prometheus text exposition (format 0.0.4) of collected metric
// families, written straight into a string. Byte for byte what
// prometheus-cpp's TextSerializer writes (a unit test holds it to that),
// except that HELP text is escaped as the format requires (`\\` and `\n`;
// TextSerializer 1.0.1 writes it raw, so a line feed in a help text breaks
// the exposition), at a fraction of the cost: /metrics for 1,000 targets is
// ~10 MB of text, and the ostream machinery under TextSerializer made that
// ~65 ms.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace wsprobe {

// Appends the exposition of `families` to `out`.
void appendTextExposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace wsprobe
