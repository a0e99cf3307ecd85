#include "agent/diagnose/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/config.h"

namespace wsprobe::diagnose {

namespace {

constexpr std::size_t kWidth = 100;

std::string fixed(const char* format, double value) {
  char text[48];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// Words of `text` wrapped to kWidth, every line after the first indented.
std::string wrap(const std::string& text, std::size_t first_column, std::size_t indent) {
  std::istringstream words(text);
  std::string out;
  std::size_t column = first_column;
  bool line_start = true;
  for (std::string word; words >> word;) {
    if (!line_start && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_start = true;
    }
    if (!line_start) {
      out += " ";
      ++column;
    }
    out += word;
    column += word.size();
    line_start = false;
  }
  return out;
}

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string describeEnd(const ProbeEnd& end) {
  std::string out = std::to_string(end.code) + " " + std::string(toString(end.cause));
  if (!end.reason.empty() && end.cause == CloseCause::server_close) out += " \"" + end.reason + "\"";
  return out + " after " + fixed("%.2f s", seconds(end.lifetime)) + " (at " +
         fixed("%.1f s", seconds(end.at)) + ")";
}

nlohmann::json spreadJson(const std::optional<Spread>& spread) {
  if (!spread) return nullptr;
  return {{"count", spread->count},
          {"min", seconds(spread->min)},
          {"p50", seconds(spread->p50)},
          {"p99", seconds(spread->p99)},
          {"max", seconds(spread->max)}};
}

nlohmann::json optionalSeconds(const std::optional<Duration>& value) {
  if (!value) return nullptr;
  return seconds(*value);
}

// One figure for one sample; the median and the range for more.
std::string describeSpread(const Spread& spread) {
  if (spread.count == 1) return formatDuration(spread.p50);
  return formatDuration(spread.p50) + " median, min " + formatDuration(spread.min) + ", max " +
         formatDuration(spread.max) + " (" + std::to_string(spread.count) + ")";
}

std::vector<Duration> allHandshakes(const Observations& seen) {
  std::vector<Duration> all;
  for (const Probe probe : kProbes) {
    const auto& handshakes = seen.of(probe).handshakes;
    all.insert(all.end(), handshakes.begin(), handshakes.end());
  }
  return all;
}

std::optional<double> idleTimeoutOf(const std::vector<Finding>& findings) {
  for (const auto& finding : findings) {
    if (finding.id == "idle_timeout" || finding.id == "pings_ignored" || finding.id == "pings_not_enough") {
      return finding.seconds;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string formatDuration(Duration duration) {
  const double s = seconds(duration);
  if (s < 0.001) return fixed("%.3f ms", s * 1e3);
  if (s < 0.01) return fixed("%.2f ms", s * 1e3);
  if (s < 1) return fixed("%.1f ms", s * 1e3);
  return fixed("%.2f s", s);
}

std::string renderText(const Observations& seen, const std::vector<Finding>& findings) {
  std::ostringstream out;
  out << "wsprobe diagnose " << seen.url << "\n";
  out << "  ran " << fixed("%.1f s", seconds(seen.ran)) << " of " << formatSeconds(seconds(seen.planned))
      << (seen.interrupted          ? " (interrupted)"
          : seen.ran < seen.planned ? " (stopped early)"
                                    : "")
      << "; heartbeats every " << wsprobe::formatDuration(seen.ping_interval) << ", answered within "
      << wsprobe::formatDuration(seen.pong_timeout) << "\n";
  if (!seen.header_names.empty()) {
    out << "  headers sent:";
    for (const auto& name : seen.header_names) out << " " << name;
    out << " (values not shown)\n";
  }
  if (!seen.subprotocols.empty()) {
    out << "  subprotocols:";
    for (const auto& name : seen.subprotocols) out << " " << name;
    out << "\n";
  }
  out << "  protocol: " << (seen.protocol_in_use.empty() ? "not decided" : seen.protocol_in_use)
      << (seen.protocol == "auto" ? " (detected; --protocol auto)" : " (--protocol " + seen.protocol + ")")
      << "\n";

  out << "\nHandshake\n";
  const HandshakeRecord& phases = seen.phases;
  const auto phase = [&](const char* name, HandshakePhase which, const std::string& otherwise,
                         const std::string& note) {
    const auto spread = spreadOf(phases.of(which));
    out << "  " << padded(name, 20) << (spread ? describeSpread(*spread) + note : otherwise) << "\n";
  };
  std::string addresses;
  for (const auto& address : phases.addresses) addresses += (addresses.empty() ? "" : ", ") + address;
  phase("DNS lookup", HandshakePhase::dns, "-", addresses.empty() ? "" : "  (" + addresses + ")");
  phase("TCP connect", HandshakePhase::tcp, "-",
        phases.peer.empty() || phases.addresses.size() == 1 ? "" : "  (to " + phases.peer + ")");
  phase("TLS handshake", HandshakePhase::tls, seen.secure ? "-" : "none (ws://)", "");
  phase("HTTP upgrade", HandshakePhase::upgrade, "-", "");
  if (!seen.engine_error.empty()) out << "  " << padded("", 20) << "(" << seen.engine_error << ")\n";
  if (const auto spread = spreadOf(allHandshakes(seen))) {
    out << "  " << padded("WebSocket open", 20) << formatDuration(spread->p50) << " median, min "
        << formatDuration(spread->min) << ", max " << formatDuration(spread->max) << " (" << spread->count
        << (spread->count == 1 ? " handshake" : " handshakes") << ", connect start to 101)\n";
  } else {
    out << "  " << padded("WebSocket open", 20) << "never\n";
  }
  out << "  "
      << wrap(
             "Each phase of the connections' own handshakes, as libwebsockets' connection "
             "monitor timed it; the WebSocket time covers them all, connect start to 101.",
             2, 2)
      << "\n";

  out << "\nRound trip\n";
  bool any_rtt = false;
  for (const Probe probe : {Probe::ping, Probe::message}) {
    const ProbeRecord& record = seen.of(probe);
    if (!record.ran) continue;
    const auto spread = spreadOf(record.rtts);
    out << "  " << padded(probe == Probe::ping ? "ping frames" : "data frames", 20);
    if (!spread) {
      out << "no answer\n";
      continue;
    }
    any_rtt = true;
    out << "min " << formatDuration(spread->min) << "  p50 " << formatDuration(spread->p50) << "  p99 "
        << formatDuration(spread->p99) << "  max " << formatDuration(spread->max) << "  (" << spread->count
        << " answered)\n";
  }
  for (const auto& [name, samples] : {std::pair{"TCP (kernel)", &ProbeRecord::tcp_rtts},
                                      std::pair{"application", &ProbeRecord::app_rtts}}) {
    std::vector<Duration> all;
    for (const Probe probe : kProbes) {
      const auto& some = seen.of(probe).*samples;
      all.insert(all.end(), some.begin(), some.end());
    }
    if (const auto spread = spreadOf(all)) {
      out << "  " << padded(name, 20) << "min " << formatDuration(spread->min) << "  p50 "
          << formatDuration(spread->p50) << "  p99 " << formatDuration(spread->p99) << "  max "
          << formatDuration(spread->max) << "  (" << spread->count << " samples)\n";
    }
  }
  if (!any_rtt && !seen.of(Probe::ping).ran && !seen.of(Probe::message).ran) out << "  none measured\n";

  out << "\nConnections\n";
  for (const Probe probe : kProbes) {
    const ProbeRecord& record = seen.of(probe);
    if (!record.ran) continue;
    std::string line = std::to_string(record.attempts) + (record.attempts == 1 ? " attempt" : " attempts") +
                       ", " + std::to_string(record.opens()) + " opened";
    if (!record.failures.empty()) line += ", " + std::to_string(record.failures.size()) + " failed";
    if (probe == Probe::message) {
      line += ", " + std::to_string(record.messages_sent) + " messages sent, " +
              std::to_string(record.messages_received) + " received";
    }
    if (record.ends.empty()) {
      line += record.opens() > 0 ? "; no drops" : "";
    } else {
      line += "; " + std::to_string(record.ends.size()) + (record.ends.size() == 1 ? " end:" : " ends:");
    }
    out << "  " << padded(std::string(title(probe)), 24) << wrap(line, 26, 26) << "\n";
    for (const auto& end : record.ends) out << "  " << padded("", 26) << describeEnd(end) << "\n";
    if (record.open_at_finish) {
      out << "  " << padded("", 26) << "open at the finish, for "
          << fixed("%.1f s", seconds(*record.open_at_finish)) << "\n";
    }
  }

  out << "\nVerdict\n";
  for (const auto& finding : findings) {
    const std::string label = finding.severity == Severity::problem ? "PROBLEM"
                              : finding.severity == Severity::ok    ? "OK"
                                                                    : "note";
    out << "  " << padded(label, 9) << wrap(finding.summary, 11, 11) << "\n";
    if (!finding.detail.empty()) out << "  " << padded("", 9) << wrap(finding.detail, 11, 11) << "\n";
  }
  const int status = exitStatus(findings);
  out << "\n" << (status ? "Found a problem" : "Nothing wrong found") << " (exit status " << status << ").\n";
  return out.str();
}

std::string renderJson(const Observations& seen, const std::vector<Finding>& findings) {
  nlohmann::json connections = nlohmann::json::array();
  for (const Probe probe : kProbes) {
    const ProbeRecord& record = seen.of(probe);
    if (!record.ran) continue;
    nlohmann::json ends = nlohmann::json::array();
    for (const auto& end : record.ends) {
      ends.push_back({{"code", end.code},
                      {"cause", std::string(toString(end.cause))},
                      {"reason", end.reason},
                      {"lifetime_seconds", seconds(end.lifetime)},
                      {"at_seconds", seconds(end.at)}});
    }
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& failure : record.failures) {
      failures.push_back({{"stage", std::string(toString(failure.stage))},
                          {"http_status", failure.http_status},
                          {"detail", failure.detail},
                          {"session_status", failure.session_status},
                          {"at_seconds", seconds(failure.at)}});
    }
    nlohmann::json connection = {{"probe", std::string(key(probe))},
                                 {"attempts", record.attempts},
                                 {"opens", record.opens()},
                                 {"failures", failures},
                                 {"ends", ends},
                                 {"open_at_finish_seconds", optionalSeconds(record.open_at_finish)},
                                 {"handshake_seconds", spreadJson(spreadOf(record.handshakes))}};
    if (probe != Probe::idle) {
      connection["rtt_seconds"] = spreadJson(spreadOf(record.rtts));
      connection["tcp_rtt_seconds"] = spreadJson(spreadOf(record.tcp_rtts));
      connection["app_rtt_seconds"] = spreadJson(spreadOf(record.app_rtts));
    }
    if (probe == Probe::message) {
      connection["messages_sent"] = record.messages_sent;
      connection["messages_received"] = record.messages_received;
    }
    connections.push_back(std::move(connection));
  }
  nlohmann::json verdict = nlohmann::json::array();
  for (const auto& finding : findings) {
    verdict.push_back(
        {{"id", finding.id},
         {"severity", std::string(toString(finding.severity))},
         {"summary", finding.summary},
         {"detail", finding.detail},
         {"seconds", finding.seconds ? nlohmann::json(*finding.seconds) : nlohmann::json(nullptr)}});
  }
  const auto idle_timeout = idleTimeoutOf(findings);
  nlohmann::json report = {
      {"url", seen.url},
      {"duration_seconds", seconds(seen.planned)},
      {"ran_seconds", seconds(seen.ran)},
      {"interrupted", seen.interrupted},
      {"ping_interval_seconds", seconds(seen.ping_interval)},
      {"pong_timeout_seconds", seconds(seen.pong_timeout)},
      {"headers", seen.header_names},
      {"subprotocols", seen.subprotocols},
      {"protocol", seen.protocol},
      {"protocol_in_use",
       seen.protocol_in_use.empty() ? nlohmann::json(nullptr) : nlohmann::json(seen.protocol_in_use)},
      {"handshake",
       {{"addresses", seen.phases.addresses},
        {"peer", seen.phases.peer},
        {"dns_seconds", spreadJson(spreadOf(seen.phases.of(HandshakePhase::dns)))},
        {"tcp_seconds", spreadJson(spreadOf(seen.phases.of(HandshakePhase::tcp)))},
        {"tls_seconds", spreadJson(spreadOf(seen.phases.of(HandshakePhase::tls)))},
        {"upgrade_seconds", spreadJson(spreadOf(seen.phases.of(HandshakePhase::upgrade)))},
        {"engine_error", seen.engine_error},
        {"total_seconds", spreadJson(spreadOf(allHandshakes(seen)))}}},
      {"connections", connections},
      {"findings", verdict},
      {"idle_timeout_seconds", idle_timeout ? nlohmann::json(*idle_timeout) : nlohmann::json(nullptr)},
      {"exit_status", exitStatus(findings)},
  };
  if (!seen.message.empty()) {
    // The message itself is not repeated: it may carry a token.
    report["message_bytes"] = seen.message.size();
    report["expect"] = seen.expect;
  }
  return report.dump(2) + "\n";
}

}  // namespace wsprobe::diagnose
