#include "agent/diagnose/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

#include "probes/protocols/protocol_table.h"

namespace wsprobe::diagnose {

namespace {

using namespace std::chrono_literals;

// Lifetimes of one probe "agree" within this (longest against shortest):
// the rule wsprobe_idle_timeout_seconds uses too.
constexpr double kSameLifetime = 0.05;
// Lifetimes of different connections are compared more loosely: they start
// at different moments relative to the intermediary's timers.
constexpr double kComparableLifetime = 0.10;
// Drops of different connections this close together are one event (a crash,
// an outage), not each connection's own timeout. The session starts the
// connections a second apart, so a shared timeout never lines them up.
constexpr Duration kSameMoment = 300ms;

bool agree(double a, double b, double tolerance) {
  const double low = std::min(a, b);
  const double high = std::max(a, b);
  return high <= low * (1.0 + tolerance);
}

bool pathEnded(const ProbeEnd& end) {
  return end.cause == CloseCause::abnormal || end.cause == CloseCause::server_close;
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string listLifetimes(const std::vector<const ProbeEnd*>& ends) {
  std::string out;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    if (i == 4 && ends.size() > 5) {
      out += " and " + std::to_string(ends.size() - 4) + " more";
      break;
    }
    if (i) out += ", ";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", seconds(ends[i]->lifetime));
    out += text;
  }
  return out;
}

// The lifetime most ends of one probe share: the median of those the path
// caused, if at least half of them agree with it within 5 %.
struct Cluster {
  double seconds = 0;                    // mean of the members
  std::vector<const ProbeEnd*> members;  // in order of time
};

std::optional<Cluster> clusterOf(const ProbeRecord& record) {
  std::vector<const ProbeEnd*> counted;
  for (const auto& end : record.ends) {
    if (pathEnded(end)) counted.push_back(&end);
  }
  if (counted.empty()) return std::nullopt;
  std::vector<double> lifetimes;
  for (const auto* end : counted) lifetimes.push_back(seconds(end->lifetime));
  std::sort(lifetimes.begin(), lifetimes.end());
  const double median = lifetimes[(lifetimes.size() - 1) / 2];
  Cluster cluster;
  for (const auto* end : counted) {
    if (agree(seconds(end->lifetime), median, kSameLifetime)) cluster.members.push_back(end);
  }
  if (cluster.members.size() * 2 < counted.size()) return std::nullopt;
  double sum = 0;
  for (const auto* end : cluster.members) sum += seconds(end->lifetime);
  cluster.seconds = sum / static_cast<double>(cluster.members.size());
  return cluster;
}

// Ends of `record` the path caused after about `around` seconds.
std::vector<const ProbeEnd*> endsNear(const ProbeRecord& record, double around) {
  std::vector<const ProbeEnd*> near;
  for (const auto& end : record.ends) {
    if (pathEnded(end) && agree(seconds(end.lifetime), around, kComparableLifetime)) near.push_back(&end);
  }
  return near;
}

bool outlived(const ProbeRecord& record, double around) {
  return seconds(record.longestOpen()) > around * (1.0 + kComparableLifetime);
}

// Whether another probe dropped at the same moment as `end`.
bool droppedWithOthers(const Observations& seen, Probe probe, const ProbeEnd& end) {
  for (const Probe other : kProbes) {
    if (other == probe) continue;
    for (const auto& candidate : seen.of(other).ends) {
      if (candidate.cause == CloseCause::agent) continue;
      const Duration apart = candidate.at > end.at ? candidate.at - end.at : end.at - candidate.at;
      if (apart <= kSameMoment) return true;
    }
  }
  return false;
}

std::string describeClose(const ProbeEnd& end) {
  if (end.cause == CloseCause::abnormal) return "1006 (TCP ended without a close frame)";
  return std::to_string(end.code) + " (a close frame from the server)";
}

std::string heartbeatAdvice(double timeout) {
  return "send a heartbeat at least every " + formatSeconds(timeout / 2) +
         " (under half the timeout), from the client or the server, or raise the timeout on the "
         "intermediary";
}

std::string suspectsSentence(double timeout) {
  const std::string suspects = suspectsFor(timeout);
  return suspects.empty() ? "" : " About " + formatSeconds(timeout) + " is the default of " + suspects + ".";
}

std::string describeFailure(const ProbeFailure& failure) {
  switch (failure.stage) {
    case FailureStage::dns:
      return "the host name did not resolve";
    case FailureStage::tcp:
      return "the TCP connection failed";
    case FailureStage::tls:
      return "the TLS handshake failed";
    case FailureStage::timeout:
      return "the handshake timed out";
    case FailureStage::protocol:
      return "the server's answer was not a valid WebSocket upgrade";
    case FailureStage::http:
      return "the upgrade was refused with HTTP " + std::to_string(failure.http_status);
    case FailureStage::session:
      return "the application protocol's session was refused (" + failure.session_status + ")";
    case FailureStage::config:
      return "a credential file could not be read";
  }
  return "it failed";
}

std::string meaningOfStage(const ProbeFailure& failure) {
  switch (failure.stage) {
    case FailureStage::dns:
      return "The host name does not resolve: check the spelling and the DNS records the client sees.";
    case FailureStage::tcp:
      return "Nothing accepts TCP connections at this host and port (refused or unreachable): the "
             "server or proxy is down, listens elsewhere, or a firewall rejects the connection.";
    case FailureStage::tls:
      return "The TLS handshake failed. A certificate problem (self-signed, expired, a name that "
             "does not match) shows in what libwebsockets reported; --ca-file trusts a private CA, "
             "--insecure skips verification for a test.";
    case FailureStage::timeout:
      return "No complete answer within the connect timeout: packets dropped by a firewall, an "
             "overloaded server, or a proxy waiting on a backend that does not answer.";
    case FailureStage::protocol:
      return "The server answered, but not with a valid WebSocket upgrade: it closed before the "
             "upgrade completed, sent a bad Sec-WebSocket-Accept, or refused the subprotocol.";
    case FailureStage::http:
      return meaningOfHttpStatus(failure.http_status);
    case FailureStage::session:
      return "The WebSocket upgrade succeeded, but the server refused or did not finish the "
             "application protocol's handshake (" +
             failure.session_status +
             "): check the credentials or connect payload (`session`), or the protocol (`protocol`, "
             "--protocol).";
    case FailureStage::config:
      return "A file named in the configuration (a credential) could not be read.";
  }
  return "";
}

// Failure kinds by how often they happened, most frequent first.
std::vector<std::pair<std::string, std::vector<const ProbeFailure*>>> groupFailures(
    const Observations& seen) {
  std::map<std::string, std::vector<const ProbeFailure*>> groups;
  for (const Probe probe : kProbes) {
    for (const auto& failure : seen.of(probe).failures) {
      const std::string kind = failure.stage == FailureStage::http
                                   ? "HTTP " + std::to_string(failure.http_status)
                                   : std::string(toString(failure.stage));
      groups[kind].push_back(&failure);
    }
  }
  std::vector<std::pair<std::string, std::vector<const ProbeFailure*>>> sorted(groups.begin(), groups.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  return sorted;
}

void judgeSessionFailures(const Observations& seen, std::vector<Finding>& findings);

void judgeHandshakes(const Observations& seen, std::vector<Finding>& findings, bool& nothing_opened) {
  int attempts = 0;
  int opens = 0;
  std::size_t failures = 0;
  for (const Probe probe : kProbes) {
    const ProbeRecord& record = seen.of(probe);
    if (!record.ran) continue;
    attempts += record.attempts;
    opens += record.opens();
    failures += record.failures.size();
  }
  nothing_opened = opens == 0;
  if (failures == 0) return;
  judgeSessionFailures(seen, findings);
  const auto groups = groupFailures(seen);
  std::string kinds;
  std::string meanings;
  for (const auto& [kind, list] : groups) {
    if (!kinds.empty()) kinds += ", ";
    kinds += kind + (list.size() > 1 ? " x" + std::to_string(list.size()) : "");
    const std::string meaning = meaningOfStage(*list.front());
    if (!meaning.empty()) meanings += (meanings.empty() ? "" : " ") + kind + ": " + meaning;
  }
  Finding finding;
  finding.severity = Severity::problem;
  if (opens == 0) {
    finding.id = "handshake_failed";
    const ProbeFailure& first = *groups.front().second.front();
    finding.summary = "No connection could be opened: " + describeFailure(first) + " (" +
                      plural(failures, "failed attempt", "failed attempts") + ": " + kinds + ").";
    finding.detail = meanings;
    if (first.stage != FailureStage::http && !first.detail.empty()) {
      finding.detail += " libwebsockets reported: " + first.detail + ".";
    }
  } else {
    finding.id = "handshake_flaky";
    finding.summary = std::to_string(failures) + " of " + std::to_string(attempts) +
                      " connection attempts failed (" + kinds + "); the others opened.";
    finding.detail =
        "Some upgrades fail while others succeed: one bad backend behind a balancer, "
        "a rate limit, or a server at capacity. " +
        meanings;
  }
  findings.push_back(std::move(finding));
}

bool speaksNoProtocol(const Observations& seen) {
  return seen.protocol_in_use.empty() || seen.protocol_in_use == "raw";
}

// The setting that makes wsprobe take part in `protocol`, with its session keys.
std::string protocolSetting(const std::string& protocol) {
  std::string out =
      "set `protocol = \"" + protocol + "\"` in the target (diagnose: --protocol " + protocol + ")";
  if (const ProtocolEntry* entry = findProtocol(protocol); entry && !entry->session_keys.empty()) {
    out += "; what the server expects in its connect message goes in the target's `session` table (keys: ";
    for (std::size_t i = 0; i < entry->session_keys.size(); ++i) {
      out += (i ? ", " : "") + std::string(entry->session_keys[i]);
    }
    out += ")";
  }
  return out;
}

// Server closes because this client did not take part in the server's
// application protocol, while wsprobe spoke bare RFC 6455: an application
// close code (4000-4999) soon after the connection opened, or any server
// close when the URL or the close names a protocol. Marks the ends it explains.
void judgeProtocol(const Observations& seen, std::vector<Finding>& findings,
                   std::set<const ProbeEnd*>& explained) {
  constexpr Duration kSoonAfterOpen = std::chrono::seconds(60);
  if (!speaksNoProtocol(seen)) return;
  // subscriptions-transport-ws (legacy GraphQL) closes a client that offered
  // no subprotocol with 1002 right after the upgrade, reason empty.
  constexpr Duration kAtOnce = std::chrono::seconds(5);
  std::vector<const ProbeEnd*> ends;
  std::string protocol;
  for (const Probe probe : kProbes) {
    for (const auto& end : seen.of(probe).ends) {
      if (end.cause != CloseCause::server_close) continue;
      std::string likely = likelyProtocol(seen.url, end.code, end.reason);
      if (likely.empty() && end.code == close_code::protocol_error && end.reason.empty() &&
          end.lifetime <= kAtOnce && seen.subprotocols.empty()) {
        likely = "graphql-ws";
      }
      const bool app_code = end.code >= 4000 && end.code <= 4999 && end.lifetime <= kSoonAfterOpen;
      if (likely.empty() && !app_code) continue;
      if (protocol.empty()) protocol = likely;
      ends.push_back(&end);
    }
  }
  if (ends.empty()) return;
  for (const auto* end : ends) explained.insert(end);
  const ProbeEnd& first = *ends.front();
  Finding finding{"protocol_not_spoken", Severity::problem, "", "", seconds(first.lifetime)};
  finding.summary = "The server closed " + plural(ends.size(), "connection", "connections") + " with " +
                    std::to_string(first.code) + (first.reason.empty() ? "" : " \"" + first.reason + "\"") +
                    " after " + formatSeconds(seconds(first.lifetime)) +
                    " because this client did not take part in " +
                    (protocol.empty() ? std::string("the server's application protocol")
                                      : "its application protocol (" + protocol + ")") +
                    ", not because of the path.";
  const bool no_subprotocol = first.code == close_code::protocol_error && likelyProtocol(seen.url, first.code,
                                                                                       first.reason).empty();
  finding.detail =
      "wsprobe spoke bare RFC 6455 (protocol " +
      (seen.protocol_in_use.empty() ? std::string("not decided") : seen.protocol_in_use) + "), so the server " +
      (no_subprotocol ? std::string("closed a client that offered no subprotocol, as subscriptions-transport-ws "
                                    "(the legacy GraphQL over WebSocket server) does; the URL gave no hint")
                      : std::string("closed a client that never completed its session handshake or "
                                    "answered its keepalives")) +
      "; no intermediary is involved. Fix: " +
      (protocol.empty() ? std::string("set `protocol` to the server's protocol (diagnose: --protocol)")
                        : protocolSetting(protocol)) +
      ".";
  findings.push_back(std::move(finding));
}

// A session handshake the server refused: name the protocol and its setting.
void judgeSessionFailures(const Observations& seen, std::vector<Finding>& findings) {
  for (const Probe probe : kProbes) {
    for (const auto& failure : seen.of(probe).failures) {
      if (failure.stage != FailureStage::session) continue;
      const std::string protocol = seen.protocol_in_use.empty() ? seen.protocol : seen.protocol_in_use;
      Finding finding{"session_refused", Severity::problem, "", "", std::nullopt};
      finding.summary = "The " + protocol + " session handshake failed (" + failure.session_status +
                        ") after the WebSocket upgrade succeeded.";
      finding.detail = "The server speaks " + protocol +
                       " and refused or did not finish its session: no intermediary is involved. Check "
                       "the connect payload and credentials: " +
                       protocolSetting(protocol) +
                       ". If the server speaks another protocol, set `protocol` (diagnose: --protocol).";
      findings.push_back(std::move(finding));
      return;
    }
  }
}

std::optional<Duration> medianOf(std::vector<Duration> samples) {
  const auto spread = spreadOf(std::move(samples));
  if (!spread) return std::nullopt;
  return spread->p50;
}

std::string milliseconds(Duration duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f ms", seconds(duration) * 1000);
  return text;
}

// Where the round trip goes: the kernel's TCP RTT is the network; ping frames
// add the server's WebSocket event loop; the protocol's own request/reply adds
// the application behind it.
void judgeRoundTrips(const Observations& seen, std::vector<Finding>& findings) {
  constexpr double kFarAbove = 4.0;
  constexpr Duration kMargin = std::chrono::milliseconds(2);
  // Fewer application round trips say nothing: socket.io's is its CONNECT,
  // once per connection, and a connection's first answer carries the
  // handler's warm-up.
  constexpr std::size_t kMinAppSamples = 5;
  std::vector<Duration> tcp_rtts;
  std::vector<Duration> app_rtts;
  for (const Probe probe : kProbes) {
    const auto& record = seen.of(probe);
    tcp_rtts.insert(tcp_rtts.end(), record.tcp_rtts.begin(), record.tcp_rtts.end());
    app_rtts.insert(app_rtts.end(), record.app_rtts.begin(), record.app_rtts.end());
  }
  const auto ping = medianOf(seen.of(Probe::ping).rtts);
  const auto tcp = medianOf(tcp_rtts);
  const auto app = medianOf(app_rtts);
  const auto far_above = [&](Duration high, Duration low) {
    return high > low + kMargin && seconds(high) > kFarAbove * seconds(low);
  };
  if (ping && tcp && far_above(*ping, *tcp)) {
    findings.push_back({"server_event_loop_slow", Severity::note,
                        "Ping RTT (p50 " + milliseconds(*ping) + ") is far above the TCP RTT (p50 " +
                            milliseconds(*tcp) + "): the server's event loop is slow, not the network.",
                        "The kernel's smoothed RTT (TCP_INFO) measures the network alone; a ping frame also "
                        "waits for the server's WebSocket event loop to read and answer it. Look at the "
                        "server's CPU, blocking work on its event loop and garbage collection pauses.",
                        std::nullopt});
  }
  if (app && ping && app_rtts.size() >= kMinAppSamples && far_above(*app, *ping)) {
    findings.push_back({"application_slow", Severity::note,
                        "The application protocol's round trip (p50 " + milliseconds(*app) +
                            ") is far above the ping RTT (p50 " + milliseconds(*ping) +
                            "): the application behind a fast WebSocket stack is slow.",
                        "Ping frames are answered by the WebSocket stack; the protocol's own request/reply "
                        "waits for the application (its handlers, a broker, a database).",
                        std::nullopt});
  }
}

}  // namespace

std::string likelyProtocol(std::string_view url, int code, std::string_view reason) {
  const auto has = [](std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
  };
  const std::string_view path = url.substr(0, url.find('?'));
  if (has(path, "/socket.io/") || has(url, "EIO=")) return "socketio";
  if (code == 4400 || code == 4408 || code == 4409 || code == 4499 || has(reason, "initialisation timeout"))
    return "graphql-ws";
  if (has(path, "/graphql")) return "graphql-ws";
  if (has(path, "/socket/websocket") || has(path, "/live/websocket")) return "phoenix";
  if (has(path, "/cable")) return "actioncable";
  if (has(path, "/sockjs")) return "sockjs";
  if (has(path, "/mqtt")) return "mqtt";
  if (has(path, "/stomp")) return "stomp";
  return "";
}

std::string_view toString(Severity severity) {
  switch (severity) {
    case Severity::ok:
      return "ok";
    case Severity::note:
      return "note";
    case Severity::problem:
      return "problem";
  }
  return "unknown";
}

std::string formatSeconds(double value) {
  char text[32];
  if (std::isinf(value)) return "no limit";
  if (value < 10) {
    std::snprintf(text, sizeof text, "%.1f s", value);
  } else {
    std::snprintf(text, sizeof text, "%.0f s", value);
  }
  return text;
}

std::string suspectsFor(double value) {
  const auto near = [value](double nominal) { return std::abs(value - nominal) <= nominal * 0.1; };
  if (near(30)) {
    return "Google Cloud load balancers (their backend service timeout, 30 s unless changed, bounds "
           "WebSocket connections)";
  }
  if (near(60)) {
    return "nginx (proxy_read_timeout, 60 s unless set) and AWS Application Load Balancers (idle "
           "timeout 60 s unless changed)";
  }
  if (near(100)) return "Cloudflare (it closes WebSocket connections idle for 100 s)";
  return "";
}

std::string meaningOfHttpStatus(int status) {
  switch (status) {
    case 400:
      return "The upgrade request was rejected as malformed, often by a proxy that dropped the "
             "Upgrade and Connection headers, or over the WebSocket version or subprotocol.";
    case 401:
      return "Authentication is required: send the credentials your clients use, e.g. "
             "-H 'Authorization: Bearer ...' or -H 'Cookie: ...'.";
    case 403:
      return "Forbidden: the credentials were refused or lack permission, the server rejects this "
             "Origin (many check it), or a firewall or allow-list blocks this client.";
    case 404:
      return "Nothing at this path: check the path, and that the proxy routes it to the WebSocket "
             "server (a location, ingress rule or path prefix).";
    case 426:
      return "Upgrade Required: the server saw no usable WebSocket upgrade, typically because a "
             "proxy does not pass the Upgrade and Connection headers on (nginx needs "
             "proxy_http_version 1.1 and proxy_set_header for both).";
    case 429:
      return "Too many requests: a rate limit refused the upgrade.";
    case 500:
      return "The server failed while handling the upgrade: see its logs.";
    case 502:
      return "Bad gateway: the proxy or load balancer in front got no valid answer from the "
             "backend: the backend is down or crashed, the upstream address is wrong, or it "
             "closed the connection.";
    case 503:
      return "Service unavailable: no healthy backend behind the balancer, or the server is "
             "overloaded, starting, deploying or in maintenance.";
    case 504:
      return "Gateway timeout: the backend did not answer the upgrade in time.";
    default:
      break;
  }
  if (status == 200) {
    return "The server answered as plain HTTP instead of switching protocols: this is not a "
           "WebSocket endpoint, or the upgrade headers were lost on the way. A SockJS server answers "
           "its base URL so (with \"Welcome to SockJS!\"): if this is one, " +
           protocolSetting("sockjs") + ", which connects to the WebSocket behind it.";
  }
  if (status > 200 && status < 400) {
    return "The server answered as plain HTTP instead of switching protocols: this is not a "
           "WebSocket endpoint, or the upgrade headers were lost on the way.";
  }
  return "The server refused the upgrade.";
}

std::vector<Finding> judge(const Observations& seen) {
  std::vector<Finding> findings;
  bool nothing_opened = false;
  judgeHandshakes(seen, findings, nothing_opened);
  if (nothing_opened) {
    if (findings.empty()) {
      findings.push_back({"inconclusive", Severity::note,
                          "No connection opened or failed within the run: it was too short to tell.",
                          "Run longer (--duration).", std::nullopt});
    }
    return findings;
  }

  const ProbeRecord& ping = seen.of(Probe::ping);
  const ProbeRecord& idle = seen.of(Probe::idle);
  const ProbeRecord& message = seen.of(Probe::message);
  std::set<const ProbeEnd*> explained;
  judgeProtocol(seen, findings, explained);

  // The message probe never got a matching reply: its pong_timeout drops are
  // about --message and --expect, not the path.
  if (message.ran && message.opens() > 0 && message.rtts.empty() && message.messages_sent > 0) {
    Finding finding{"message_unanswered", Severity::problem, "", "", std::nullopt};
    finding.summary =
        "No reply matched --expect '" + seen.expect + "' (" +
        plural(static_cast<std::size_t>(message.messages_sent), "message", "messages") + " sent, " +
        plural(static_cast<std::size_t>(message.messages_received), "data frame", "data frames") +
        " received).";
    finding.detail = message.messages_received == 0
                         ? "The server never answered the message: it may not implement this "
                           "heartbeat. Use the message and reply your application's clients use."
                         : "The server answered, but nothing it sent matched: check --expect (a "
                           "regular expression, matched anywhere in the frame).";
    for (const auto& end : message.ends) {
      if (end.cause == CloseCause::pong_timeout) explained.insert(&end);
    }
    findings.push_back(std::move(finding));
  }

  // Idle timeouts: the idle connection keeps dying after the same time.
  if (const auto cluster = clusterOf(idle)) {
    std::vector<const ProbeEnd*> own;  // not one event that took other connections too
    for (const auto* end : cluster->members) {
      if (explained.count(end)) continue;  // the protocol, not the path
      if (!droppedWithOthers(seen, Probe::idle, *end)) own.push_back(end);
    }
    // An idle connection that lived well past that age another time was not
    // dropped for being idle.
    if (!own.empty() && !outlived(idle, cluster->seconds)) {
      const double timeout = cluster->seconds;
      for (const auto* end : cluster->members) explained.insert(end);
      const std::string how = describeClose(*cluster->members.front());
      const bool server_closes = cluster->members.front()->cause == CloseCause::server_close;
      const std::string who = server_closes ? "The server itself closes connections that stay quiet"
                                            : "An intermediary (proxy, load balancer, NAT, firewall) closes "
                                              "connections that stay quiet";
      const std::string idle_seen =
          "the idle connection was dropped with " + how + " after " + listLifetimes(cluster->members);
      const auto ping_near = endsNear(ping, timeout);
      Finding finding{"", Severity::problem, "", "", timeout};
      const std::string once = cluster->members.size() == 1 ? " Seen once: a longer run confirms it." : "";
      if (outlived(ping, timeout) || ping_near.empty()) {
        finding.id = "idle_timeout";
        finding.summary = "Idle timeout of about " + formatSeconds(timeout) + " on the path: " + idle_seen;
        if (outlived(ping, timeout)) {
          char lived[48];
          std::snprintf(lived, sizeof lived, "%.1f s", seconds(ping.longestOpen()));
          finding.summary += ", while the pinged connection stayed up (" + std::string(lived) + ").";
          finding.detail = who + " for about " + formatSeconds(timeout) + "; ping frames every " +
                           formatSeconds(seconds(seen.ping_interval)) + " kept a connection open." +
                           suspectsSentence(timeout) + " Fix: " + heartbeatAdvice(timeout) + ".";
        } else {
          finding.summary += "; the pinged connection did not stay up long enough to compare.";
          finding.detail = who + " for about " + formatSeconds(timeout) + "." + suspectsSentence(timeout) +
                           " Fix: " + heartbeatAdvice(timeout) +
                           ". Run longer to see whether pings keep "
                           "a connection open.";
        }
      } else {
        for (const auto* end : ping_near) explained.insert(end);
        const auto message_near = message.ran ? endsNear(message, timeout) : std::vector<const ProbeEnd*>{};
        const std::string both = "the idle connection (after " + listLifetimes(cluster->members) +
                                 ") and the pinged one (after " + listLifetimes(ping_near) + ")";
        if (message.ran && outlived(message, timeout)) {
          finding.id = "pings_ignored";
          finding.summary = "The path ignores ping frames: " + both + " were dropped after about " +
                            formatSeconds(timeout) + ", while the one sending data frames stayed up.";
          finding.detail = who + " for about " + formatSeconds(timeout) +
                           " and does not count ping frames as activity." + suspectsSentence(timeout) +
                           " Fix: use data-frame heartbeats (an application message such as "
                           "{\"type\":\"ping\"}) at least every " +
                           formatSeconds(timeout / 2) +
                           "; ping frames alone will not keep connections open here.";
        } else if (message.ran && !message_near.empty() && !outlived(message, timeout)) {
          for (const auto* end : message_near) explained.insert(end);
          finding.id = "lifetime_limit";
          finding.summary = "Every connection ends after about " + formatSeconds(timeout) +
                            ", with or without traffic: " + both + ", and the one sending data frames.";
          finding.detail =
              "No heartbeat helps: the server or an intermediary limits how long a "
              "connection may last (a maximum connection age, or a request timeout "
              "applied to the whole WebSocket)." +
              suspectsSentence(timeout) +
              " Raise that limit, or make clients reconnect before it, with jitter.";
        } else {
          finding.id = "pings_not_enough";
          finding.summary = "Pings do not keep this path open: " + both + " were dropped after about " +
                            formatSeconds(timeout) + ".";
          finding.detail =
              "Either an intermediary ignores ping frames as activity (then data-frame "
              "heartbeats help), or connections are capped at about " +
              formatSeconds(timeout) + " whatever they carry." + suspectsSentence(timeout) +
              (message.ran ? " The data-frame connection did not stay up long enough to "
                             "tell them apart: run longer."
                           : " Run again with --message '<your heartbeat>' --expect "
                             "'<its reply>' to tell them apart.");
        }
      }
      finding.detail += once;
      findings.push_back(std::move(finding));
    }
  }

  // Whatever the patterns above did not explain, by kind.
  std::vector<const ProbeEnd*> abnormal;
  std::vector<const ProbeEnd*> half_open;
  std::vector<const ProbeEnd*> protocol;
  std::map<int, std::vector<const ProbeEnd*>> closes;  // by code
  bool abnormal_together = true;                       // every unexplained 1006 came with a drop elsewhere
  for (const Probe probe : kProbes) {
    for (const auto& end : seen.of(probe).ends) {
      if (explained.count(&end)) continue;
      switch (end.cause) {
        case CloseCause::abnormal:
          abnormal.push_back(&end);
          if (!droppedWithOthers(seen, probe, end)) abnormal_together = false;
          break;
        case CloseCause::pong_timeout:
          half_open.push_back(&end);
          break;
        case CloseCause::protocol_error:
          protocol.push_back(&end);
          break;
        case CloseCause::server_close:
          closes[end.code].push_back(&end);
          break;
        case CloseCause::agent:
        case CloseCause::stale:
          break;
      }
    }
  }
  const auto by_time = [](std::vector<const ProbeEnd*>& ends) {
    std::sort(ends.begin(), ends.end(), [](const auto* a, const auto* b) { return a->at < b->at; });
  };
  const auto moments = [](const std::vector<const ProbeEnd*>& ends) {
    std::string out;
    for (const auto* end : ends) {
      char text[32];
      std::snprintf(text, sizeof text, "%s%.1f s", out.empty() ? "" : ", ", seconds(end->at));
      out += text;
    }
    return out;
  };
  if (!abnormal.empty()) {
    by_time(abnormal);
    Finding finding{"drops_1006", Severity::problem, "", "", std::nullopt};
    finding.summary = plural(abnormal.size(), "connection", "connections") +
                      " dropped with 1006 (no close frame) after " + listLifetimes(abnormal) + ", at " +
                      moments(abnormal) + " into the run.";
    finding.detail = abnormal.size() > 1 && abnormal_together
                         ? "Connections dropped together at the same moment: one event took them all, "
                           "such as a server crash or restart without close frames (a process killed, "
                           "OOM-killed or evicted) or a network outage. Check the server's logs and "
                           "the kernel log for kills at those times."
                         : "TCP ended without a close frame at no fixed lifetime: network interruptions "
                           "(lost NAT or firewall state, a flapping link, a mobile handoff) or a server "
                           "process that crashed or was killed (OOM killer, kill -9, a pod evicted). "
                           "Check the server's logs and the kernel log at those times.";
    findings.push_back(std::move(finding));
  }
  if (!half_open.empty()) {
    Finding finding{"half_open", Severity::problem, "", "", std::nullopt};
    finding.summary = plural(half_open.size(), "connection", "connections") +
                      " stopped answering heartbeats for " + formatSeconds(seconds(seen.pong_timeout)) +
                      " and wsprobe dropped them (after " + listLifetimes(half_open) + ").";
    finding.detail =
        "Half-open connections: the peer or an intermediary lost the connection without "
        "a FIN reaching this side, or the server's event loop stalled. Clients without "
        "a heartbeat deadline would wait on such connections forever.";
    findings.push_back(std::move(finding));
  }
  if (!protocol.empty()) {
    findings.push_back({"protocol_error", Severity::problem,
                        "The server broke the WebSocket protocol on " +
                            plural(protocol.size(), "connection", "connections") + " (wsprobe closed with " +
                            std::to_string(protocol.front()->code) + ").",
                        "A bad frame, reserved bits or invalid UTF-8 in a text frame: a bug in the server "
                        "or something on the path rewriting the stream.",
                        std::nullopt});
  }
  for (auto& [code, ends] : closes) {
    by_time(ends);
    Finding finding{"server_close", Severity::problem, "", "", std::nullopt};
    const std::string which = plural(ends.size(), "connection", "connections");
    finding.summary = "The server closed " + which + " with " + std::to_string(code) +
                      (ends.front()->reason.empty() ? "" : " \"" + ends.front()->reason + "\"") + " after " +
                      listLifetimes(ends) + ".";
    if (code == 1001 || code == 1012) {
      finding.id = "server_restart";
      finding.detail = std::string(code == 1001 ? "1001 (going away)" : "1012 (service restart)") +
                       " is what servers send when they shut down or restart: deploys, scaling in, "
                       "restarts. Expected during a deploy; clients should reconnect with backoff and "
                       "jitter, and servers should drain connections gradually.";
    } else if (code == 1013) {
      finding.id = "server_overloaded";
      finding.detail =
          "1013 (try again later): the server is overloaded or at capacity and sheds "
          "connections. Reconnect with backoff; look at the server's capacity.";
    } else if (code == 1011) {
      finding.id = "server_error";
      finding.detail =
          "1011 (internal error): the server hit an unexpected condition, usually an "
          "unhandled exception in its connection handler. See its logs at those times.";
    } else if (code == 1008) {
      finding.id = "policy_violation";
      finding.detail =
          "1008 (policy violation): the server ended the session by policy, e.g. "
          "expired credentials or a rate limit.";
    } else if (code >= 4000 && code <= 4999) {
      finding.detail = "Codes 4000-4999 are the application's own: its documentation says what " +
                       std::to_string(code) + " means.";
    } else {
      finding.detail =
          "A close frame from the server: it ended the session on purpose (a session "
          "limit or application logic). Clients must expect this and reconnect.";
    }
    findings.push_back(std::move(finding));
  }

  judgeRoundTrips(seen, findings);
  const bool problems = std::any_of(findings.begin(), findings.end(),
                                    [](const Finding& f) { return f.severity == Severity::problem; });
  if (!problems) {
    std::size_t answered = 0;
    int opens = 0;
    for (const Probe probe : kProbes) {
      answered += seen.of(probe).rtts.size();
      opens += seen.of(probe).opens();
    }
    findings.push_back({"healthy", Severity::ok,
                        "No problem found in " + formatSeconds(seconds(seen.ran)) + ": " +
                            plural(static_cast<std::size_t>(opens), "connection", "connections") +
                            " opened, " + plural(answered, "heartbeat", "heartbeats") +
                            " answered, none dropped.",
                        "", std::nullopt});
  }
  // What an idle connection that never dropped establishes.
  if (idle.opens() > 0 && idle.ends.empty() && idle.open_at_finish) {
    const double lived = seconds(*idle.open_at_finish);
    Finding finding{"no_idle_timeout_below", Severity::note, "", "", lived};
    finding.summary = "No idle timeout shorter than " + formatSeconds(lived) +
                      ": the idle connection stayed open that long.";
    finding.detail = lived < 100 ? "Common timeouts (60 s for nginx and AWS ALB, 100 s for Cloudflare) "
                                   "need a longer --duration to show."
                                 : "That covers the common defaults (30, 60 and 100 s).";
    findings.push_back(std::move(finding));
  }
  if (seen.interrupted) {
    findings.push_back({"interrupted", Severity::note,
                        "Interrupted after " + formatSeconds(seconds(seen.ran)) + " of " +
                            formatSeconds(seconds(seen.planned)) + ": the verdict covers that time only.",
                        "", std::nullopt});
  }
  return findings;
}

int exitStatus(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::problem; })
             ? 1
             : 0;
}

}  // namespace wsprobe::diagnose
