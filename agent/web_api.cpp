#include "web_api.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <sstream>

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

json endJson(const ConnectionEnd& end) {
  return {{"code", end.code},
          {"cause", std::string(toString(end.cause))},
          {"reason", end.reason},
          {"lifetime_seconds", seconds(end.lifetime)}};
}

json failureJson(const ConnectionFailure& failure) {
  json out = {{"stage", std::string(toString(failure.stage))}, {"detail", failure.detail}};
  if (failure.http_status) out["status"] = failure.http_status;
  return out;
}

std::string describeEnd(const std::optional<ConnectionEnd>& end) {
  if (!end) return "";
  std::ostringstream out;
  out << end->code << " " << toString(end->cause);
  if (!end->reason.empty()) out << " (" << end->reason << ")";
  out.precision(1);
  out << std::fixed << " after " << seconds(end->lifetime) << " s";
  return out.str();
}
}  // namespace

std::string targetsJson(const std::vector<TargetStatus>& targets) {
  json out = json::array();
  for (const auto& target : targets) {
    json connections = json::array();
    for (const auto& connection : target.connections) {
      json item = {{"mode", std::string(toString(connection.mode))},
                   {"state", connection.state},
                   {"age_seconds", seconds(connection.age)}};
      item["last_rtt_seconds"] = connection.last_rtt ? json(seconds(*connection.last_rtt)) : json(nullptr);
      item["last_close"] = connection.last_end ? endJson(*connection.last_end) : json(nullptr);
      item["last_failure"] =
          connection.last_failure ? failureJson(*connection.last_failure) : json(nullptr);
      item["next_retry_seconds"] =
          connection.next_retry_in ? json(seconds(*connection.next_retry_in)) : json(nullptr);
      connections.push_back(std::move(item));
    }
    out.push_back({{"target", target.name}, {"up", target.up}, {"connections", std::move(connections)}});
  }
  return json{{"status", "success"}, {"data", std::move(out)}}.dump(-1, ' ', false,
                                                                     json::error_handler_t::replace);
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
  return json{{"status", "success"}, {"data", std::move(out)}}.dump(-1, ' ', false,
                                                                     json::error_handler_t::replace);
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

std::string statusPage(const std::vector<TargetStatus>& targets,
                       const std::vector<ConnectionEvent>& events, const std::string& version) {
  std::ostringstream page;
  page << "<!doctype html><html><head><meta charset=\"utf-8\"><title>wsprobe</title>"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.up{color:#070}"
          ".down{color:#b00}</style></head><body><h1>wsprobe "
       << htmlEscape(version) << "</h1><h2>Targets</h2><table id=\"targets\"><tr><th>target</th>"
       << "<th>state</th><th>open</th><th>last RTT</th><th>last close</th></tr>";
  page.setf(std::ios::fixed);
  page.precision(2);
  for (const auto& target : targets) {
    int open = 0;
    std::optional<Duration> rtt;
    std::optional<ConnectionEnd> last_end;
    for (const auto& connection : target.connections) {
      if (connection.state == "open") ++open;
      if (connection.last_rtt) rtt = connection.last_rtt;
      if (connection.last_end) last_end = connection.last_end;
    }
    page << "<tr class=\"target\"><td class=\"name\">" << htmlEscape(target.name) << "</td><td class=\""
         << (target.up ? "up\">up" : "down\">down") << "</td><td>" << open << "/"
         << target.connections.size() << "</td><td>";
    if (rtt) page << seconds(*rtt) * 1000 << " ms";
    page << "</td><td>" << htmlEscape(describeEnd(last_end)) << "</td></tr>";
  }
  page << "</table><h2>Recent events</h2><table id=\"events\"><tr><th>time</th><th>target</th>"
          "<th>mode</th><th>event</th></tr>";
  for (const auto& event : events) {
    page << "<tr><td>" << isoTime(event.at) << "</td><td>" << htmlEscape(event.target) << "</td><td>"
         << toString(event.mode) << "</td><td>" << toString(event.kind) << " ";
    if (event.end) page << htmlEscape(describeEnd(event.end));
    if (event.failure) {
      page << htmlEscape(std::string(toString(event.failure->stage)));
      if (event.failure->http_status) page << " " << event.failure->http_status;
    }
    page << "</td></tr>";
  }
  page << "</table><p><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/targets\">targets</a> · "
          "<a href=\"/api/v1/events\">events</a></p></body></html>";
  return page.str();
}

}  // namespace wsprobe
