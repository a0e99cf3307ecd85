// When a connection's heartbeats go out. Each connection keeps a fixed phase
// inside ping_interval that does not depend on when it opened: the phase
// comes from the target's name and the connection's index, as Prometheus
// offsets each target's scrapes. So N connections send about N/interval
// heartbeats per second, evenly, also right after a start, a reload or a
// mass reconnect, and wsprobe never measures bursts of its own making. Pure.
#pragma once

#include <string_view>

#include "probes/clock.h"

namespace wsprobe {

// The phase of connection `index` of `count` of `target`: the target's own
// offset (a hash of its name) plus an even share of the interval per
// connection, so one target's connections are spread evenly too.
Duration heartbeatPhase(std::string_view target, int index, int count, Duration interval);

// The first time strictly after `after` that lies on the grid of `interval`
// shifted by `phase` (counted from the clock's origin).
TimePoint nextHeartbeatAt(TimePoint after, Duration interval, Duration phase);

}  // namespace wsprobe
