// The status page's charts of one target, drawn on the server as inline SVG
// from its StatusHistory: no script, font or style from outside the binary
// (colours come from classes of the page's own <style>), so the page works
// on an air-gapped host under the page's strict Content-Security-Policy.
// The only free text in them, the target's name, is escaped.
#pragma once

#include <string>
#include <string_view>

#include "agent/status_history.h"

namespace wsprobe {

// Ping RTT p50 and p99 per sample (polylines "p50" and "p99", broken where an
// interval had no pong). The time axis spans the samples held (the whole
// window once the ring is full), the newest at the right edge.
std::string rttChartSvg(const StatusHistory::Snapshot& history, std::string_view target);
// Heartbeat connections open at each sample ("open"), the fewest open during
// each interval ("open-min"), idle connections ("idle", when the target has
// any) and the configured count ("desired").
std::string openChartSvg(const StatusHistory::Snapshot& history, int desired_heartbeat, int desired_idle,
                         std::string_view target);
// Connection lifetimes since the target was added: one bar per lifetime
// bucket from the first to the last non-empty one (at least six), heartbeat
// ("life-heartbeat") and idle ("life-idle") ends stacked.
std::string lifetimeChartSvg(const StatusHistory::Snapshot& history, std::string_view target);

// "30 min", "90 s": the span the ring covers once full.
std::string windowLabel(const StatusHistory::Snapshot& history);
// "10 s": the sample interval.
std::string intervalLabel(const StatusHistory::Snapshot& history);

}  // namespace wsprobe
