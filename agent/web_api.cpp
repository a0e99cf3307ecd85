#include "web_api.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <sstream>

#include "agent/status_charts.h"

namespace wsprobe {

namespace {
using nlohmann::json;

double seconds(Duration duration) { return std::chrono::duration<double>(duration).count(); }

std::string isoTime(std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// "850 ms", "12.5 s", "3m 20s", "2h 5m".
std::string humanDuration(double value) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  if (value < 1) {
    out.precision(value < 0.01 ? 2 : 0);
    out << value * 1000 << " ms";
  } else if (value < 120) {
    out.precision(1);
    out << value << " s";
  } else if (value < 7200) {
    const auto whole = static_cast<long long>(value);
    out << whole / 60 << "m " << whole % 60 << "s";
  } else {
    const auto whole = static_cast<long long>(value);
    out << whole / 3600 << "h " << (whole % 3600) / 60 << "m";
  }
  return out.str();
}

bool hasIdleConnection(const TargetStatus& status) {
  for (const auto& connection : status.connections) {
    if (connection.mode == ConnectionMode::idle) return true;
  }
  return false;
}

// "unknown" (probing, not settled yet), "estimated", "none" (outlived
// idle_probe_max) or "not_probed" (idle_probe = false).
std::string idleTimeoutState(const TargetView& target) {
  if (target.idle_timeout_seconds) return std::isinf(*target.idle_timeout_seconds) ? "none" : "estimated";
  return hasIdleConnection(target.status) ? "unknown" : "not_probed";
}

int openCount(const TargetStatus& status, ConnectionMode mode, int* total) {
  int open = 0;
  *total = 0;
  for (const auto& connection : status.connections) {
    if (connection.mode != mode) continue;
    ++*total;
    if (connection.state == "open") ++open;
  }
  return open;
}

json endJson(const ConnectionEnd& end) {
  return {{"code", end.code},
          {"cause", std::string(toString(end.cause))},
          {"reason", end.reason},
          {"lifetime_seconds", seconds(end.lifetime)}};
}

json failureJson(const ConnectionFailure& failure) {
  json out = {{"stage", std::string(toString(failure.stage))}, {"detail", failure.detail}};
  if (failure.http_status) out["status"] = failure.http_status;
  if (!failure.session_status.empty()) out["status"] = failure.session_status;
  if (failure.phase) out["phase"] = std::string(toString(*failure.phase));
  return out;
}

std::string dump(const json& value) {
  // Close reasons come from servers and may not be UTF-8: replace, never throw.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string describeEnd(const ConnectionEnd& end) {
  std::ostringstream out;
  out << end.code << " " << toString(end.cause);
  if (!end.reason.empty()) out << " \"" << end.reason << "\"";
  out << " after " << humanDuration(seconds(end.lifetime));
  return out.str();
}

std::string describeFailure(const ConnectionFailure& failure) {
  std::string out(toString(failure.stage));
  if (failure.http_status) out += " " + std::to_string(failure.http_status);
  if (!failure.session_status.empty()) out += " " + failure.session_status;
  if (!failure.detail.empty()) out += ": " + failure.detail;
  return out;
}

std::string describeConnection(const ConnectionStatus& connection) {
  std::string out = std::string(toString(connection.mode)) + " " + connection.state;
  if (connection.state == "open") out += " for " + humanDuration(seconds(connection.age));
  if (connection.next_retry_in) out += ", retry in " + humanDuration(seconds(*connection.next_retry_in));
  if (connection.state != "open" && connection.last_failure) {
    out += " (last failure: " + describeFailure(*connection.last_failure) + ")";
  }
  return out;
}

std::string ago(std::chrono::system_clock::time_point now, std::chrono::system_clock::time_point at) {
  const double elapsed = std::chrono::duration<double>(now - at).count();
  return humanDuration(elapsed < 0 ? 0 : elapsed) + " ago";
}

// The page's own styles: the charts draw with these classes (an SVG
// presentation attribute would do too, but one place for colours is easier
// to keep consistent with the legends).
constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    ".up{color:#070}.down{color:#b00}.muted{color:#777}ul{margin:0;padding-left:1.2em}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:2em}"
    ".target-charts{border:1px solid #ccc;padding:6px 10px;width:366px}"
    ".target-charts h3{margin:0 0 4px;font-size:1em;overflow-wrap:anywhere}"
    "figure{margin:0 0 4px}figcaption{font-size:.8em;color:#444}"
    "svg.chart{display:block}svg text{font-size:9px;fill:#555}svg text.empty{font-size:11px;fill:#999}"
    "rect.plot{fill:#fafafa;stroke:#ddd}line.grid{stroke:#e4e4e4}"
    "polyline,line.desired{fill:none;stroke-width:2;stroke-linejoin:round}"
    ".p50{stroke:#1f77b4}.p99{stroke:#ff7f0e}.open{stroke:#2ca02c}.open-min{stroke:#d62728;stroke-width:1;stroke-opacity:.7}"
    ".idle{stroke:#9467bd}line.desired{stroke:#aaa;stroke-width:1;stroke-dasharray:4 3}"
    "circle.p50{fill:#1f77b4}circle.p99{fill:#ff7f0e}circle.open{fill:#2ca02c}circle.open-min{fill:#d62728}"
    "circle.idle{fill:#9467bd}.life-heartbeat{fill:#2ca02c}.life-idle{fill:#9467bd}"
    ".key{font-weight:bold}.key.p50{color:#1f77b4}.key.p99{color:#ff7f0e}.key.open{color:#2ca02c}"
    ".key.open-min{color:#d62728}.key.idle{color:#9467bd}.key.desired{color:#999}";

constexpr std::size_t kMaxChartedTargets = 60;

// The newest sample with a pong: what the RTT caption quotes.
const StatusSample* newestWithRtt(const StatusHistory::Snapshot& history) {
  for (auto it = history.samples.rbegin(); it != history.samples.rend(); ++it) {
    if (!std::isnan(it->rtt_p50_seconds)) return &*it;
  }
  return nullptr;
}

void targetCharts(std::ostringstream& page, const TargetView& target) {
  const StatusHistory::Snapshot& history = *target.history;
  const TargetStatus& status = target.status;
  int heartbeat_total = 0;
  int idle_total = 0;
  openCount(status, ConnectionMode::heartbeat, &heartbeat_total);
  openCount(status, ConnectionMode::idle, &idle_total);
  page << "<section class=\"target-charts\"><h3>" << htmlEscape(status.name) << " <span class=\""
       << (status.up ? "up\">up" : "down\">down") << "</span></h3>";

  page << "<figure><figcaption>ping RTT <span class=\"key p50\">p50</span> <span class=\"key p99\">p99</span>";
  if (const StatusSample* newest = newestWithRtt(history)) {
    page << " <span class=\"muted\">latest: " << humanDuration(newest->rtt_p50_seconds) << " / "
         << humanDuration(newest->rtt_p99_seconds) << " (" << newest->pongs
         << (newest->pongs == 1 ? " pong" : " pongs") << ")</span>";
  }
  page << "</figcaption>" << rttChartSvg(history, status.name) << "</figure>";

  page << "<figure><figcaption>open <span class=\"key open\">heartbeat</span> "
          "<span class=\"key open-min\" title=\"fewest open at any moment of the interval\">fewest</span>";
  if (idle_total > 0) page << " <span class=\"key idle\">idle</span>";
  page << " <span class=\"key desired\">configured</span></figcaption>"
       << openChartSvg(history, heartbeat_total, idle_total, status.name) << "</figure>";

  std::uint64_t ends = 0;
  for (const auto& counts : history.lifetimes) {
    for (const auto count : counts) ends += count;
  }
  page << "<figure><figcaption>lifetimes <span class=\"key open\">heartbeat</span>";
  if (idle_total > 0) page << " <span class=\"key idle\">idle</span>";
  page << " <span class=\"muted\">" << ends << " ended since the target was added</span></figcaption>"
       << lifetimeChartSvg(history, status.name) << "</figure></section>";
}
}  // namespace

std::string targetsJson(const std::vector<TargetView>& targets) {
  json out = json::array();
  for (const auto& target : targets) {
    json connections = json::array();
    for (const auto& connection : target.status.connections) {
      json item = {{"mode", std::string(toString(connection.mode))},
                   {"state", connection.state},
                   {"age_seconds", seconds(connection.age)}};
      item["last_rtt_seconds"] = connection.last_rtt ? json(seconds(*connection.last_rtt)) : json(nullptr);
      item["last_close"] = connection.last_end ? endJson(*connection.last_end) : json(nullptr);
      item["last_failure"] =
          connection.last_failure ? failureJson(*connection.last_failure) : json(nullptr);
      item["next_retry_seconds"] =
          connection.next_retry_in ? json(seconds(*connection.next_retry_in)) : json(nullptr);
      item["last_message_age_seconds"] =
          connection.last_message_age ? json(seconds(*connection.last_message_age)) : json(nullptr);
      connections.push_back(std::move(item));
    }
    int heartbeat_total = 0;
    int idle_total = 0;
    const int heartbeat_open = openCount(target.status, ConnectionMode::heartbeat, &heartbeat_total);
    const int idle_open = openCount(target.status, ConnectionMode::idle, &idle_total);
    json item = {{"target", target.status.name},
                 {"up", target.status.up},
                 {"protocol", target.status.protocol},
                 {"protocol_in_use", target.status.protocol_in_use.empty()
                                         ? json(nullptr)
                                         : json(target.status.protocol_in_use)},
                 {"labels", target.labels},
                 {"open_connections", {{"heartbeat", heartbeat_open}, {"idle", idle_open}}},
                 {"desired_connections", {{"heartbeat", heartbeat_total}, {"idle", idle_total}}},
                 {"idle_timeout_state", idleTimeoutState(target)}};
    // JSON has no infinity: "none" above says the probe found no timeout.
    item["idle_timeout_seconds"] = target.idle_timeout_seconds && !std::isinf(*target.idle_timeout_seconds)
                                       ? json(*target.idle_timeout_seconds)
                                       : json(nullptr);
    if (target.last_end) {
      json last = endJson(*target.last_end);
      last["mode"] = std::string(toString(target.last_end->mode));
      last["time"] = target.last_end_at ? json(isoTime(*target.last_end_at)) : json(nullptr);
      item["last_close"] = std::move(last);
    } else {
      item["last_close"] = nullptr;
    }
    item["connections"] = std::move(connections);
    out.push_back(std::move(item));
  }
  return dump(json{{"status", "success"}, {"data", std::move(out)}});
}

std::string eventsJson(const std::vector<ConnectionEvent>& events) {
  json out = json::array();
  for (const auto& event : events) {
    json item = {{"time", isoTime(event.at)},
                 {"kind", std::string(toString(event.kind))},
                 {"target", event.target},
                 {"mode", std::string(toString(event.mode))}};
    if (event.end) item.update(endJson(*event.end));
    if (event.failure) item["failure"] = failureJson(*event.failure);
    if (event.handshake) item["handshake_seconds"] = seconds(*event.handshake);
    out.push_back(std::move(item));
  }
  return dump(json{{"status", "success"}, {"data", std::move(out)}});
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string statusPage(const std::vector<TargetView>& targets,
                       const std::vector<ConnectionEvent>& events, const std::string& version,
                       std::chrono::system_clock::time_point now) {
  std::ostringstream page;
  page << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"refresh\" content=\"10\"><title>wsprobe</title><style>"
       << kStyle << "</style></head><body><h1>wsprobe " << htmlEscape(version) << "</h1><p class=\"muted\">"
       << isoTime(now) << " · " << targets.size() << " targets · refreshes every 10 s</p>";
  // Charts cost about 11 KB of page and 2 ms of rendering per target: past
  // kMaxChartedTargets the page charts the targets that are down first, then
  // the others in order, and says so; the table below lists every target.
  std::vector<const TargetView*> charted;
  for (const bool down : {true, false}) {
    for (const auto& target : targets) {
      if (target.history && target.status.up != down && charted.size() < kMaxChartedTargets) {
        charted.push_back(&target);
      }
    }
  }
  if (!charted.empty()) {
    const StatusHistory::Snapshot& first = *charted.front()->history;
    page << "<h2>Recent history</h2><p class=\"muted\">one sample every " << intervalLabel(first) << ", the last "
         << windowLabel(first)
         << " at most (since the agent started); connection lifetimes since each target was added";
    if (charted.size() < targets.size()) {
      page << "; charts of " << charted.size() << " of " << targets.size() << " targets, those down first";
    }
    page << "</p><div class=\"charts\">";
    for (const TargetView* target : charted) targetCharts(page, *target);
    page << "</div>";
  }
  page << "<h2>Targets</h2><table id=\"targets\"><tr><th>target</th><th>protocol</th><th>labels</th><th>state</th>"
          "<th>open</th><th>last RTT</th><th>last close</th><th>idle timeout</th>"
          "<th>connections</th></tr>";
  for (const auto& target : targets) {
    const TargetStatus& status = target.status;
    std::optional<Duration> rtt;
    for (const auto& connection : status.connections) {
      if (connection.last_rtt) rtt = connection.last_rtt;
    }
    int heartbeat_total = 0;
    int idle_total = 0;
    const int heartbeat_open = openCount(status, ConnectionMode::heartbeat, &heartbeat_total);
    const int idle_open = openCount(status, ConnectionMode::idle, &idle_total);

    page << "<tr class=\"target\"><td class=\"name\">" << htmlEscape(status.name)
         << "</td><td class=\"protocol\">"
         << htmlEscape(status.protocol_in_use.empty() ? status.protocol : status.protocol_in_use);
    if (status.protocol == "auto" && !status.protocol_in_use.empty()) page << " <span class=\"muted\">(auto)</span>";
    page << "</td><td class=\"labels\">";
    for (const auto& [name, value] : target.labels) {
      page << "<div>" << htmlEscape(name) << "=" << htmlEscape(value) << "</div>";
    }
    page << "</td><td class=\"state " << (status.up ? "up\">up" : "down\">down") << "</td><td class=\"open\">"
         << heartbeat_open << "/" << heartbeat_total << " heartbeat";
    if (idle_total > 0) page << "<br>" << idle_open << "/" << idle_total << " idle";
    page << "</td><td class=\"rtt\">" << (rtt ? humanDuration(seconds(*rtt)) : "") << "</td><td class=\"last-close\">";
    if (target.last_end) {
      page << htmlEscape(describeEnd(*target.last_end));
      if (target.last_end_at) {
        page << "<br><span class=\"muted\">" << isoTime(*target.last_end_at) << " ("
             << ago(now, *target.last_end_at) << ")</span>";
      }
    }
    page << "</td><td class=\"idle-timeout\">";
    const std::string idle_state = idleTimeoutState(target);
    if (idle_state == "estimated") {
      page << humanDuration(*target.idle_timeout_seconds);
    } else if (idle_state == "none") {
      page << "none found";
    } else if (idle_state == "unknown") {
      page << "<span class=\"muted\">measuring</span>";
    } else {
      page << "<span class=\"muted\">not probed</span>";
    }
    page << "</td><td class=\"connections\"><ul>";
    for (const auto& connection : status.connections) {
      page << "<li>" << htmlEscape(describeConnection(connection)) << "</li>";
    }
    page << "</ul></td></tr>";
  }
  page << "</table><h2>Recent events</h2><table id=\"events\"><tr><th>time</th><th>target</th>"
          "<th>mode</th><th>event</th><th>details</th></tr>";
  for (const auto& event : events) {
    page << "<tr class=\"event\"><td>" << isoTime(event.at) << "</td><td>" << htmlEscape(event.target)
         << "</td><td>" << toString(event.mode) << "</td><td>" << toString(event.kind) << "</td><td>";
    if (event.end) page << htmlEscape(describeEnd(*event.end));
    if (event.failure) page << htmlEscape(describeFailure(*event.failure));
    if (event.handshake) page << "handshake " << humanDuration(seconds(*event.handshake));
    page << "</td></tr>";
  }
  page << "</table><p><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/targets\">targets</a> · "
          "<a href=\"/api/v1/events\">events</a></p></body></html>";
  return page.str();
}

}  // namespace wsprobe
