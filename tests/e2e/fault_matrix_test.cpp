// The fault matrix: the built wsprobe daemon runs in a network namespace the
// test creates (a veth pair to the host, nftables inside, its own
// resolv.conf), probing servers on the host's end of the veth that fail the
// way real paths and servers do. Every fault must be classified as SPEC says,
// the agent must keep serving /metrics throughout (a scrape every 200 ms),
// and no count may be lost: at rest, for every target, attempts = opens +
// failures, opens = open now + disconnects, disconnects = ended lifetimes.
// Each case prints its rows of the table fault | expected | observed.
//
// Needs root, ip and nft (and node with tests/servers/node_modules for the
// separate-process server); without root each case says so and passes.
#include "support/fault_matrix.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "support/http_client.h"
#include "support/network_namespace.h"
#include "support/scrape.h"
#include "support/server_process.h"
#include "support/syn_capture.h"
#include "testbed/dns_responder.h"
#include "testbed/misbehaving_endpoint.h"
#include "testbed/self_signed_certificate.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {

// A [[target]] block with the matrix's fast timings; `overrides` replace or
// add keys (values in TOML syntax).
std::string target(const std::string& name, const std::string& url,
                   const std::map<std::string, std::string>& overrides = {}) {
  std::map<std::string, std::string> keys = {{"ping_interval", "\"500ms\""},
                                             {"pong_timeout", "\"1500ms\""},
                                             {"connect_timeout", "\"3s\""},
                                             {"backoff_initial", "\"200ms\""},
                                             {"backoff_max", "\"1s\""}};
  for (const auto& [key, value] : overrides) keys[key] = value;
  std::string text = "[[target]]\nname = \"" + name + "\"\nurl = \"" + url + "\"\n";
  for (const auto& [key, value] : keys) text += key + " = " + value + "\n";
  return text + "\n";
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// The local ports of wsprobe's established connections to host:port, as
// seen inside the namespace.
std::vector<int> localPortsTo(const NetworkNamespace& ns, const std::string& host, int port) {
  const auto result = runCommand(
      ns.exec({"ss", "-Htn", "state", "established", "dst", host + ":" + std::to_string(port)}), 10s);
  std::vector<int> ports;
  const std::regex local(R"((\d+\.\d+\.\d+\.\d+):(\d+)\s+\S+)");
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch found;
    if (std::regex_search(line, found, local)) ports.push_back(std::stoi(found[2]));
  }
  return ports;
}

double openOf(const std::string& text, const std::string& name) {
  return sampleValue(text, "wsprobe_connections_open", {{"target", name}}).value_or(0);
}

double meanRtt(const std::string& text, const std::string& name) {
  const double count = sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", name}}).value_or(0);
  const double sum = sampleValue(text, "wsprobe_ping_rtt_seconds_sum", {{"target", name}}).value_or(0);
  return count > 0 ? sum / count : -1;
}

std::string milliseconds(double seconds) {
  return std::to_string(static_cast<long>(seconds * 1000 + 0.5)) + " ms";
}

// Waits until each target's books have balanced in some scrape (a target
// that keeps failing has an attempt in flight much of the time, so not all
// at once); the last imbalance of those that never did otherwise.
std::string waitForBalancedBooks(const NamespacedDaemon& daemon, const std::vector<std::string>& targets,
                                 std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> unbalanced;
  for (const auto& name : targets) unbalanced[name] = "never scraped";
  waitFor(
      [&] {
        const std::string text = daemon.scrape();
        if (text.empty()) return false;
        for (auto it = unbalanced.begin(); it != unbalanced.end();) {
          it->second = unbalancedBooks(text, it->first);
          it = it->second.empty() ? unbalanced.erase(it) : std::next(it);
        }
        return unbalanced.empty();
      },
      timeout);
  std::string problem;
  for (const auto& [name, what] : unbalanced) problem += what;
  return problem;
}

// The fault matrix's separate-process server, on the host's end of the veth.
std::unique_ptr<ServerProcess> startNodeServer(const std::string& host, int port) {
  return ServerProcess::startAnnouncing(
      {"node", std::string(WSPROBE_SOURCE_DIR) + "/tests/e2e/fault_matrix_server.js", "--host", host,
       "--port", std::to_string(port)},
      20s, {"NODE_PATH=" + testServersDirectory() + "/node_modules"});
}

bool skipWithoutNamespaces() {
  std::string why;
  if (NetworkNamespace::available(&why)) return false;
  WARN("fault matrix skipped: " << why);
  return true;
}

// A row for a fault whose connections must end one way only.
FaultRow endsOnly(const std::string& text, const std::string& fault, const std::string& name,
                  const std::string& code, const std::string& cause) {
  const double expected =
      sampleValue(text, "wsprobe_disconnects_total", {{"target", name}, {"code", code}, {"cause", cause}})
          .value_or(0);
  const double all = sampleValue(text, "wsprobe_disconnects_total", {{"target", name}}).value_or(0);
  return {fault, code + " " + cause, disconnectSummary(text, name), expected >= 1 && expected == all};
}

// A row for a fault whose attempts must all fail at one of `stages`.
FaultRow failsOnly(const std::string& text, const std::string& fault, const std::string& name,
                   const std::vector<std::string>& stages) {
  double matching = 0;
  for (const auto& stage : stages) {
    matching += sampleValue(text, "wsprobe_connection_failures_total", {{"target", name}, {"stage", stage}})
                    .value_or(0);
  }
  const double all = sampleValue(text, "wsprobe_connection_failures_total", {{"target", name}}).value_or(0);
  const double opens =
      sampleValue(text, "wsprobe_handshake_duration_seconds_count", {{"target", name}}).value_or(0);
  std::string expected = "stage ";
  for (std::size_t i = 0; i < stages.size(); ++i) expected += (i ? " or " : "") + stages[i];
  std::string observed = failureSummary(text, name);
  if (opens > 0) observed += "; opened " + std::to_string(static_cast<long>(opens));
  return {fault, expected + ", never open", observed, matching >= 1 && matching == all && opens == 0};
}

void checkRows(const std::vector<FaultRow>& rows, const NamespacedDaemon& daemon) {
  const bool all_held = std::all_of(rows.begin(), rows.end(), [](const FaultRow& row) { return row.held; });
  if (!all_held) {
    const std::string log = daemon.log();
    WARN("wsprobe log (the last 6,000 bytes):\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  }
  for (const auto& row : rows) {
    INFO(row.fault << ": expected " << row.expected << ", observed " << row.observed);
    CHECK(row.held);
  }
}

}  // namespace

TEST_CASE(
    "fault matrix: a blackholed path is half-open (pong_timeout), an injected TCP reset is 1006 abnormal, "
    "a server killed with SIGKILL is 1006 and reconnected once it is back",
    "[e2e]") {
  if (skipWithoutNamespaces()) return;
  NetworkNamespace ns("fnet");
  const std::string host = ns.hostAddress();
  MisbehavingEndpoint blackholed(EndpointBehaviour{}, host);
  MisbehavingEndpoint resetting(EndpointBehaviour{}, host);
  MisbehavingEndpoint steady(EndpointBehaviour{}, host);
  auto killed = startNodeServer(host, 0);
  const int killed_port = killed->port();
  const std::string killed_url = "ws://" + host + ":" + std::to_string(killed_port) + "/";

  NamespacedDaemon daemon(ns, target("blackhole", blackholed.url()) + target("reset", resetting.url()) +
                                  target("killed", killed_url, {{"connections", "3"}}) +
                                  target("steady", steady.url()));
  ScrapeWatch watch(daemon.host(), daemon.port());
  REQUIRE(waitFor(
      [&] {
        const std::string text = daemon.scrape();
        return openOf(text, "blackhole") == 1 && openOf(text, "reset") == 1 && openOf(text, "killed") == 3 &&
               openOf(text, "steady") == 1;
      },
      30s));

  // The silent blackhole: every packet of this one connection dropped both
  // ways, so neither end learns anything; a new connection (another local
  // port) passes.
  const auto blackholed_ports = localPortsTo(ns, host, blackholed.port());
  REQUIRE(blackholed_ports.size() == 1);
  const std::string bh_port = std::to_string(blackholed_ports[0]);
  ns.nft(
      "table inet wsprobe_blackhole {\n"
      "  chain out { type filter hook output priority 0; policy accept;\n"
      "    ip daddr " +
      host + " tcp dport " + std::to_string(blackholed.port()) + " tcp sport " + bh_port +
      " drop\n  }\n"
      "  chain in { type filter hook input priority 0; policy accept;\n"
      "    ip saddr " +
      host + " tcp sport " + std::to_string(blackholed.port()) + " tcp dport " + bh_port + " drop\n  }\n}\n");
  // A reset injected into this one connection: wsprobe's next segment is
  // answered by an RST.
  const auto reset_ports = localPortsTo(ns, host, resetting.port());
  REQUIRE(reset_ports.size() == 1);
  ns.nft(
      "table inet wsprobe_reset {\n"
      "  chain out { type filter hook output priority 0; policy accept;\n"
      "    ip daddr " +
      host + " tcp dport " + std::to_string(resetting.port()) + " tcp sport " +
      std::to_string(reset_ports[0]) + " reject with tcp reset\n  }\n}\n");
  // kill -9: the kernel ends the server's connections; nothing listens until it is back.
  REQUIRE(::kill(killed->pid(), SIGKILL) == 0);

  CHECK(daemon.waitForMetric("wsprobe_disconnects_total",
                             {{"target", "blackhole"}, {"cause", "pong_timeout"}}, 1, 20s));
  CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "reset"}, {"code", "1006"}}, 1, 20s));
  CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "killed"}, {"code", "1006"}}, 3, 20s));
  CHECK(daemon.waitForMetric("wsprobe_connection_failures_total", {{"target", "killed"}, {"stage", "tcp"}}, 1,
                             20s));
  const double killed_down_failures =
      daemon.metric("wsprobe_connection_failures_total", {{"target", "killed"}}).value_or(0);
  killed.reset();  // reaps the killed process
  auto back = startNodeServer(host, killed_port);

  // Everything reconnects: the blackholed and reset paths through new ports,
  // the killed server once it is back.
  CHECK(waitFor(
      [&] {
        const std::string text = daemon.scrape();
        return openOf(text, "blackhole") == 1 && openOf(text, "reset") == 1 && openOf(text, "killed") == 3;
      },
      30s));
  const std::string books = waitForBalancedBooks(daemon, {"blackhole", "reset", "killed", "steady"}, 20s);
  watch.stop();
  const std::string text = daemon.scrape();

  std::vector<FaultRow> rows;
  {
    FaultRow row =
        endsOnly(text, "silent blackhole (nft drop both ways)", "blackhole", "1006", "pong_timeout");
    // Half-open: the server never learnt that the first connection died.
    const int server_open = blackholed.openConnections();
    row.expected += "; server still holds the dead connection";
    row.observed += "; server holds " + std::to_string(server_open) + " (1 dead + 1 new)";
    row.held = row.held && server_open == 2;
    rows.push_back(row);
  }
  rows.push_back(endsOnly(text, "TCP reset injected mid-connection (nft reject with tcp reset)", "reset",
                          "1006", "abnormal"));
  {
    FaultRow row = endsOnly(text, "kill -9 of the server, then its return", "killed", "1006", "abnormal");
    const double reconnects =
        sampleValue(text, "wsprobe_reconnects_total", {{"target", "killed"}}).value_or(0);
    row.expected += " x3; tcp failures while down; 3 open again";
    row.observed += "; " + std::to_string(static_cast<long>(killed_down_failures)) +
                    " tcp failures while down; " + std::to_string(static_cast<long>(openOf(text, "killed"))) +
                    " open again after " + std::to_string(static_cast<long>(reconnects)) +
                    " reconnect attempts";
    row.held = row.held && killed_down_failures >= 1 && openOf(text, "killed") == 3 && reconnects >= 3 &&
               back->port() == killed_port;
    rows.push_back(row);
  }
  rows.push_back({"(control) a healthy target beside them", "no disconnects, 1 open",
                  disconnectSummary(text, "steady") + ", " +
                      std::to_string(static_cast<long>(openOf(text, "steady"))) + " open",
                  disconnectSummary(text, "steady") == "none" && openOf(text, "steady") == 1});
  rows.push_back({"/metrics served throughout", "every scrape answered", watch.summary(),
                  watch.failures() == 0 && watch.scrapes() > 10});
  rows.push_back({"counts balance at rest", "attempts = opens + failures; opens = open + disconnects",
                  books.empty() ? "balanced" : books, books.empty()});
  printFaultTable("Network faults", rows);
  checkRows(rows, daemon);
}

TEST_CASE(
    "fault matrix: DNS that fails or times out is stage dns, expired, misnamed and unknown-CA certificates "
    "are stage tls, a TLS stall and a 101 at one byte a second are stage timeout",
    "[e2e]") {
  if (skipWithoutNamespaces()) return;
  NetworkNamespace ns("fhs");
  const std::string host = ns.hostAddress();
  TempDir certificates;
  using endpoints::CertificateRequest;
  const long day = 24L * 60 * 60;
  const auto expired = endpoints::writeIssuedCertificate(certificates.path(), "expired",
                                                         CertificateRequest{"IP:" + host, -2 * day, -day});
  const auto misnamed = endpoints::writeIssuedCertificate(
      certificates.path(), "misnamed", CertificateRequest{"DNS:elsewhere.example,IP:192.0.2.1", -60, day});
  const auto unknown =
      endpoints::writeIssuedCertificate(certificates.path(), "unknown", {"IP:" + host, -60, day});
  const auto trusted =
      endpoints::writeIssuedCertificate(certificates.path(), "trusted", {"IP:" + host, -60, day});
  const auto tls = [](const endpoints::IssuedCertificate& files) {
    EndpointBehaviour behaviour;
    behaviour.tls_cert_file = files.cert_file;
    behaviour.tls_key_file = files.key_file;
    return behaviour;
  };
  MisbehavingEndpoint expired_server(tls(expired), host);
  MisbehavingEndpoint misnamed_server(tls(misnamed), host);
  MisbehavingEndpoint unknown_server(tls(unknown), host);
  MisbehavingEndpoint trusted_server(tls(trusted), host);
  EndpointBehaviour mute;
  mute.never_answer = true;  // plain TCP: a wss:// client's ClientHello is never answered
  MisbehavingEndpoint stalling(mute, host);
  EndpointBehaviour trickle;
  trickle.response_byte_interval = 1s;
  MisbehavingEndpoint slow_upgrade(trickle, host);
  MisbehavingEndpoint healthy(EndpointBehaviour{}, host);

  // The namespace's resolver: a DNS server inside it, on its loopback.
  endpoints::DnsZone zone;
  zone.addresses["good.faults.test"] = host;
  zone.refused = {"refused.faults.test"};
  zone.silent = {"silent.faults.test"};
  std::unique_ptr<endpoints::DnsResponder> dns;
  ns.inside([&] { dns = std::make_unique<endpoints::DnsResponder>(zone, "127.0.0.1", 53); });
  ns.writeResolvConf("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  const std::string healthy_port = std::to_string(healthy.port());
  const auto ca = [](const endpoints::IssuedCertificate& files) {
    return "{ ca_file = " + quoted(files.ca_file) + " }";
  };
  const std::string wss_stall = "wss://" + host + ":" + std::to_string(stalling.port()) + "/";

  NamespacedDaemon daemon(ns, target("dns-refused", "ws://refused.faults.test:" + healthy_port + "/") +
                                  target("dns-silent", "ws://silent.faults.test:" + healthy_port + "/") +
                                  target("dns-good", "ws://good.faults.test:" + healthy_port + "/") +
                                  target("tls-expired", expired_server.url(), {{"tls", ca(expired)}}) +
                                  target("tls-misnamed", misnamed_server.url(), {{"tls", ca(misnamed)}}) +
                                  target("tls-unknown-ca", unknown_server.url()) +
                                  target("tls-trusted", trusted_server.url(), {{"tls", ca(trusted)}}) +
                                  target("tls-stall", wss_stall, {{"connect_timeout", "\"2s\""}}) +
                                  target("slow-101", slow_upgrade.url(), {{"connect_timeout", "\"3s\""}}) +
                                  target("steady", healthy.url()));
  ScrapeWatch watch(daemon.host(), daemon.port());

  const std::vector<std::pair<std::string, std::string>> failing = {
      {"dns-refused", "dns"},    {"dns-silent", "dns"},    {"tls-expired", "tls"}, {"tls-misnamed", "tls"},
      {"tls-unknown-ca", "tls"}, {"tls-stall", "timeout"}, {"slow-101", "timeout"}};
  for (const auto& [name, stage] : failing) {
    INFO(name);
    CHECK(daemon.waitForMetric("wsprobe_connection_failures_total", {{"target", name}}, 2, 30s));
  }
  CHECK(daemon.waitForMetric("wsprobe_connections_open", {{"target", "dns-good"}}, 1, 10s));
  CHECK(daemon.waitForMetric("wsprobe_connections_open", {{"target", "tls-trusted"}}, 1, 10s));
  // Let the steady target measure beside the failing ones for a while.
  CHECK(daemon.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "steady"}}, 12, 20s));
  const std::vector<std::string> names = {"dns-refused",  "dns-silent",     "dns-good",    "tls-expired",
                                          "tls-misnamed", "tls-unknown-ca", "tls-trusted", "tls-stall",
                                          "slow-101",     "steady"};
  const std::string books = waitForBalancedBooks(daemon, names, 20s);
  watch.stop();
  const std::string text = daemon.scrape();

  std::vector<FaultRow> rows;
  rows.push_back(failsOnly(text, "DNS answers REFUSED", "dns-refused", {"dns"}));
  {
    FaultRow row = failsOnly(text, "DNS never answers (resolver timeout 1 s)", "dns-silent", {"dns"});
    row.observed += "; " + std::to_string(dns->queriesFor("silent.faults.test")) + " unanswered queries";
    row.held = row.held && dns->queriesFor("silent.faults.test") >= 1;
    rows.push_back(row);
  }
  rows.push_back(failsOnly(text, "TLS: certificate expired", "tls-expired", {"tls"}));
  rows.push_back(failsOnly(text, "TLS: certificate for another host name", "tls-misnamed", {"tls"}));
  rows.push_back(failsOnly(text, "TLS: certificate from an unknown CA", "tls-unknown-ca", {"tls"}));
  {
    FaultRow row = failsOnly(text, "TLS: server stalls mid-handshake (ClientHello unanswered)", "tls-stall",
                             {"tls", "timeout"});
    row.held = row.held && stalling.connectionsAccepted() >= 1;
    rows.push_back(row);
  }
  {
    FaultRow row =
        failsOnly(text, "101 sent one byte a second (connect_timeout 3 s)", "slow-101", {"timeout"});
    row.held = row.held && slow_upgrade.upgradesCompleted() >= 1;
    rows.push_back(row);
  }
  rows.push_back({"(control) a name the resolver knows; a certificate from the trusted CA", "both open",
                  "dns-good " + std::to_string(static_cast<long>(openOf(text, "dns-good"))) +
                      " open, tls-trusted " + std::to_string(static_cast<long>(openOf(text, "tls-trusted"))) +
                      " open",
                  openOf(text, "dns-good") == 1 && openOf(text, "tls-trusted") == 1});
  {
    // Names are looked up off the service thread: a resolver that times out
    // holds up only the lookups waiting for it.
    const double slow =
        sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", "steady"}}).value_or(0) -
        sampleValue(text, "wsprobe_ping_rtt_seconds_bucket", {{"target", "steady"}, {"le", "0.25"}})
            .value_or(0);
    rows.push_back({"(control) a healthy target beside them", "no disconnects; no RTT over 250 ms",
                    disconnectSummary(text, "steady") + "; mean RTT " +
                        milliseconds(meanRtt(text, "steady")) + ", " +
                        std::to_string(static_cast<long>(slow)) + " RTTs over 250 ms",
                    disconnectSummary(text, "steady") == "none" && slow == 0});
  }
  rows.push_back({"/metrics served throughout", "every scrape answered", watch.summary(),
                  watch.failures() == 0 && watch.scrapes() > 10});
  rows.push_back({"counts balance at rest", "attempts = opens + failures; opens = open + disconnects",
                  books.empty() ? "balanced" : books, books.empty()});
  printFaultTable("Handshake faults", rows);
  checkRows(rows, daemon);
}

TEST_CASE(
    "fault matrix: a resolver that never answers (glibc defaults, 5 s x 2) holds up no other target, a "
    "healthy target's pings keep a small RTT",
    "[e2e]") {
  if (skipWithoutNamespaces()) return;
  NetworkNamespace ns("fdnsq");
  const std::string host = ns.hostAddress();
  MisbehavingEndpoint healthy(EndpointBehaviour{}, host);
  endpoints::DnsZone zone;
  zone.addresses["good.faults.test"] = host;
  zone.silent = {"silent.faults.test"};
  std::unique_ptr<endpoints::DnsResponder> dns;
  ns.inside([&] { dns = std::make_unique<endpoints::DnsResponder>(zone, "127.0.0.1", 53); });
  ns.writeResolvConf("nameserver 127.0.0.1\n");  // no options: 5 s a try, 2 tries
  const std::string port = std::to_string(healthy.port());
  const auto started = std::chrono::steady_clock::now();
  NamespacedDaemon daemon(ns, target("dns-silent", "ws://silent.faults.test:" + port + "/") +
                                  target("by-name", "ws://good.faults.test:" + port + "/") +
                                  target("steady", healthy.url()));
  ScrapeWatch watch(daemon.host(), daemon.port());

  // connect_timeout is 3 s: each attempt's lookup is abandoned while the
  // resolver would still wait; three of them take about 12 s.
  CHECK(daemon.waitForMetric("wsprobe_connection_failures_total", {{"target", "dns-silent"}}, 3, 40s));
  CHECK(daemon.waitForMetric("wsprobe_connections_open", {{"target", "by-name"}}, 1, 10s));
  CHECK(daemon.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "steady"}}, 20, 20s));
  const std::string books = waitForBalancedBooks(daemon, {"dns-silent", "by-name", "steady"}, 20s);
  watch.stop();
  const std::string text = daemon.scrape();
  // A ping every 500 ms from the start (less a second for the start itself):
  // a service thread stalled in a lookup sends them late or not at all.
  const double due =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 0.5 - 2;

  std::vector<FaultRow> rows;
  {
    FaultRow row =
        failsOnly(text, "DNS never answers (glibc's 5 s x 2; connect_timeout 3 s)", "dns-silent", {"dns"});
    row.observed += "; " + std::to_string(dns->queriesFor("silent.faults.test")) + " unanswered queries";
    row.held = row.held && dns->queriesFor("silent.faults.test") >= 1;
    rows.push_back(row);
  }
  for (const std::string name : {"steady", "by-name"}) {
    const double slow =
        sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", name}}).value_or(0) -
        sampleValue(text, "wsprobe_ping_rtt_seconds_bucket", {{"target", name}, {"le", "0.25"}}).value_or(0);
    const double pings = sampleValue(text, "wsprobe_ping_rtt_seconds_count", {{"target", name}}).value_or(0);
    rows.push_back({"(control) a healthy target beside it (" + name + ")",
                    "open; no disconnects (no pong_timeout); no RTT over 250 ms; pings on time (70 % due)",
                    std::to_string(static_cast<long>(openOf(text, name))) + " open; " +
                        disconnectSummary(text, name) + "; mean RTT " + milliseconds(meanRtt(text, name)) +
                        ", " + std::to_string(static_cast<long>(slow)) + " of " +
                        std::to_string(static_cast<long>(pings)) + " RTTs over 250 ms; about " +
                        std::to_string(static_cast<long>(due)) + " pings due",
                    openOf(text, name) == 1 && disconnectSummary(text, name) == "none" && slow == 0 &&
                        pings >= 0.7 * due});
  }
  rows.push_back({"/metrics served throughout", "every scrape answered", watch.summary(),
                  watch.failures() == 0 && watch.scrapes() > 10});
  rows.push_back({"counts balance at rest", "attempts = opens + failures; opens = open + disconnects",
                  books.empty() ? "balanced" : books, books.empty()});
  printFaultTable("A resolver that never answers", rows);
  checkRows(rows, daemon);
}

TEST_CASE(
    "fault matrix: fragmented control frames, invalid close codes and reasons are protocol_error, a ping "
    "flood is answered without moving the RTT, data after a close frame is ignored",
    "[e2e]") {
  if (skipWithoutNamespaces()) return;
  NetworkNamespace ns("fframes");
  const std::string host = ns.hostAddress();
  EndpointBehaviour fragmented;
  fragmented.invalid_frame = endpoints::InvalidFrame::fragmented_ping;
  MisbehavingEndpoint fragmenting(fragmented, host);
  EndpointBehaviour flood;
  flood.ping_flood_interval = 2ms;
  MisbehavingEndpoint flooding(flood, host);
  const std::vector<int> invalid_codes = {999, 1004, 1005, 1006, 1015, 1016, 2999, 5000};
  std::vector<std::unique_ptr<MisbehavingEndpoint>> closers;
  for (const int code : invalid_codes) {
    EndpointBehaviour closes;
    closes.close_after = 300ms;
    closes.close_codes = {code};
    closers.push_back(std::make_unique<MisbehavingEndpoint>(closes, host));
  }
  EndpointBehaviour bad_reason;
  bad_reason.close_after = 300ms;
  bad_reason.close_codes = {1000};
  bad_reason.close_reason = "bye \xC3\x28";  // a lead byte without its continuation
  MisbehavingEndpoint bad_reasons(bad_reason, host);
  EndpointBehaviour after_close;
  after_close.close_after = 300ms;
  after_close.close_codes = {1000};
  after_close.data_after_close = true;
  MisbehavingEndpoint talking_after_close(after_close, host);
  MisbehavingEndpoint steady(EndpointBehaviour{}, host);

  std::string config = target("fragmented-ping", fragmenting.url()) + target("ping-flood", flooding.url()) +
                       target("close-bad-reason", bad_reasons.url()) +
                       target("data-after-close", talking_after_close.url()) + target("steady", steady.url());
  for (std::size_t i = 0; i < invalid_codes.size(); ++i) {
    config += target("close-" + std::to_string(invalid_codes[i]), closers[i]->url());
  }
  NamespacedDaemon daemon(ns, config);
  ScrapeWatch watch(daemon.host(), daemon.port());

  CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "fragmented-ping"}}, 2, 20s));
  for (const int code : invalid_codes) {
    CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "close-" + std::to_string(code)}}, 2,
                               20s));
  }
  CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "close-bad-reason"}}, 2, 20s));
  CHECK(daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "data-after-close"}}, 2, 20s));
  // The flood runs while the rest happens; give it at least ten heartbeats.
  CHECK(daemon.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "ping-flood"}}, 10, 20s));
  CHECK(daemon.waitForMetric("wsprobe_ping_rtt_seconds_count", {{"target", "steady"}}, 10, 20s));
  std::vector<std::string> names = {"fragmented-ping", "ping-flood", "close-bad-reason", "data-after-close",
                                    "steady"};
  for (const int code : invalid_codes) names.push_back("close-" + std::to_string(code));
  const std::string books = waitForBalancedBooks(daemon, names, 20s);
  const int flood_pings = flooding.pingsSent();
  const int flood_pongs = flooding.pongsReceived();
  watch.stop();
  const std::string text = daemon.scrape();

  std::vector<FaultRow> rows;
  rows.push_back(endsOnly(text, "fragmented control frame (ping without FIN)", "fragmented-ping", "1002",
                          "protocol_error"));
  for (std::size_t i = 0; i < invalid_codes.size(); ++i) {
    const int code = invalid_codes[i];
    const std::string name = "close-" + std::to_string(code);
    FaultRow row = endsOnly(text, "close frame with code " + std::to_string(code) + " on the wire", name,
                            "1002", "protocol_error");
    // What wsprobe answered: 1002 every time.
    const auto answers = closers[i]->closeCodesReceived();
    const bool answered_1002 = !answers.empty() && std::all_of(answers.begin(), answers.end(),
                                                               [](int answer) { return answer == 1002; });
    row.expected += "; answered with 1002";
    row.observed += "; answered " + std::string(answered_1002 ? "1002" : "otherwise") + " (" +
                    std::to_string(answers.size()) + " closes)";
    row.held = row.held && answered_1002;
    rows.push_back(row);
  }
  {
    FaultRow row = endsOnly(text, "close frame 1000 with an invalid UTF-8 reason", "close-bad-reason", "1002",
                            "protocol_error");
    if (!row.held) {
      // RFC 6455 8.1 also allows 1007 (invalid payload data) for it.
      FaultRow alternative = endsOnly(text, row.fault, "close-bad-reason", "1007", "protocol_error");
      row.held = alternative.held;
    }
    row.expected = "1002 (or 1007) protocol_error";
    rows.push_back(row);
  }
  {
    FaultRow row = endsOnly(text, "a text frame after the server's close frame", "data-after-close", "1000",
                            "server_close");
    const double messages =
        sampleValue(text, "wsprobe_messages_received_total", {{"target", "data-after-close"}}).value_or(0);
    row.expected += "; the data is not a message";
    row.observed += "; " + std::to_string(static_cast<long>(messages)) + " messages received";
    row.held = row.held && messages == 0;
    rows.push_back(row);
  }
  {
    const double flood_rtt = meanRtt(text, "ping-flood");
    const double steady_rtt = meanRtt(text, "steady");
    const bool answered = flood_pings > 0 && flood_pongs >= flood_pings * 9 / 10;
    rows.push_back(
        {"server ping flood (a ping every 2 ms)",
         "pongs for the pings; no disconnect; mean RTT under 250 ms like a quiet target's",
         std::to_string(flood_pongs) + " pongs for " + std::to_string(flood_pings) + " pings; " +
             disconnectSummary(text, "ping-flood") + "; mean RTT " + milliseconds(flood_rtt) +
             " (quiet target: " + milliseconds(steady_rtt) + ")",
         answered && disconnectSummary(text, "ping-flood") == "none" && flood_rtt >= 0 && flood_rtt < 0.25});
  }
  rows.push_back({"/metrics served throughout", "every scrape answered", watch.summary(),
                  watch.failures() == 0 && watch.scrapes() > 10});
  rows.push_back({"counts balance at rest", "attempts = opens + failures; opens = open + disconnects",
                  books.empty() ? "balanced" : books, books.empty()});
  printFaultTable("Hostile frames", rows);
  checkRows(rows, daemon);
}

TEST_CASE(
    "fault matrix: 5000 connections closed at once by a restarting server reconnect with every first SYN "
    "captured and at most a tenth of them in any 100 ms",
    "[e2e]") {
  if (skipWithoutNamespaces()) return;
  if (!haveProgram("tshark")) FAIL("tshark is not installed (scripts/setup.sh installs it)");
  constexpr int kConnections = 5000;
  // Both wsprobe and the server hold one descriptor per connection.
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  REQUIRE(files.rlim_cur > kConnections + 500);

  NetworkNamespace ns("fherd");
  const std::string host = ns.hostAddress();
  auto server = startNodeServer(host, 0);
  const std::string url = "ws://" + host + ":" + std::to_string(server->port()) + "/";
  // Few pings: this case is about the reconnections. backoff_initial 3 s: the
  // first reconnection is drawn uniformly from [0, 3 s).
  NamespacedDaemon daemon(ns, target("herd", url,
                                     {{"connections", std::to_string(kConnections)},
                                      {"ping_interval", "\"30s\""},
                                      {"pong_timeout", "\"20s\""},
                                      {"connect_timeout", "\"20s\""},
                                      {"backoff_initial", "\"3s\""},
                                      {"backoff_max", "\"30s\""}}));
  ScrapeWatch watch(daemon.host(), daemon.port());
  const auto stats = [&] {
    const auto result = httpRequestTo(host, server->port(), "GET", "/stats");
    return nlohmann::json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  };
  REQUIRE(daemon.waitForMetric("wsprobe_connections_open", {{"target", "herd"}}, kConnections, 90s));

  // When wsprobe starts each reconnection: the first SYN of each attempt, on
  // the namespace's end of the veth (the server's accept times say when the
  // server got to them, not when wsprobe started them).
  SynCapture capture(ns, host, server->port());
  if (!capture.waitUntilCapturing(60s))
    FAIL("tshark shows no SYN of the test's own connections: " << capture.log());
  const double attempts_before =
      daemon.metric("wsprobe_connection_attempts_total", {{"target", "herd"}}).value_or(-1);
  REQUIRE(attempts_before >= kConnections);
  const double restart_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  ::kill(server->pid(), SIGUSR1);  // the restart: 1012 to every connection at once
  const bool all_ended =
      daemon.waitForMetric("wsprobe_disconnects_total", {{"target", "herd"}}, kConnections, 60s);
  const bool all_back =
      daemon.waitForMetric("wsprobe_connections_open", {{"target", "herd"}}, kConnections, 60s);
  if (!all_ended || !all_back) {
    const std::string now = daemon.scrape();
    WARN("disconnects: " << disconnectSummary(now, "herd") << "; failures: " << failureSummary(now, "herd")
                         << "; open: " << openOf(now, "herd") << "; server: " << server->output());
  }
  CHECK(all_ended);
  CHECK(all_back);
  const std::string books = waitForBalancedBooks(daemon, {"herd"}, 30s);
  watch.stop();
  const std::string text = daemon.scrape();
  const auto seen = stats();

  // Every attempt wsprobe counted since the restart must be on the wire.
  const auto attempts_since_restart = static_cast<std::size_t>(
      sampleValue(text, "wsprobe_connection_attempts_total", {{"target", "herd"}}).value_or(0) -
      attempts_before);
  const auto syns_since_restart = [&] {
    std::vector<SynAttempt> since;
    for (const auto& attempt : capture.attempts()) {
      if (attempt.at >= restart_at) since.push_back(attempt);
    }
    return since;
  };
  waitFor([&] { return syns_since_restart().size() >= attempts_since_restart; }, 10s);
  capture.stop();
  const std::vector<SynAttempt> syns = syns_since_restart();
  std::vector<double> syn_ms;
  int retransmitted = 0;
  for (const auto& syn : syns) {
    syn_ms.push_back((syn.at - restart_at) * 1000);
    if (syn.retransmissions > 0) ++retransmitted;
  }
  const BusiestWindow by_syn = busiestWindow(syn_ms, 100);

  REQUIRE(seen.contains("accepts_after_restart_ms"));
  const auto accepts = seen["accepts_after_restart_ms"].get<std::vector<double>>();
  const BusiestWindow by_accept = busiestWindow(accepts, 100);

  const auto percent = [&](std::size_t count) {
    std::ostringstream out;
    out.precision(3);
    out << 100.0 * static_cast<double>(count) / kConnections << " %";
    return out.str();
  };
  std::ostringstream spread;
  spread << syns.size() << " first SYNs for " << attempts_since_restart << " attempts counted by wsprobe, "
         << (syn_ms.empty() ? 0 : static_cast<long>(syn_ms.front())) << " to "
         << (syn_ms.empty() ? 0 : static_cast<long>(syn_ms.back())) << " ms after the restart (median "
         << (syn_ms.empty() ? 0 : static_cast<long>(syn_ms[syn_ms.size() / 2])) << " ms), " << retransmitted
         << " retransmitted; busiest 100 ms: " << by_syn.attempts << " (" << percent(by_syn.attempts)
         << ") from " << static_cast<long>(by_syn.from) << " ms";
  std::ostringstream accepted;
  accepted << accepts.size() << " accepted; busiest 100 ms: " << by_accept.attempts << " ("
           << percent(by_accept.attempts) << ") from " << static_cast<long>(by_accept.from) << " ms";
  std::cout << "reconnections by SYN: " << spread.str() << "\nreconnections by accept: " << accepted.str()
            << "\nfirst SYNs per 100 ms after the restart: " << countsPerWindow(syn_ms, 100)
            << "\naccepts per 100 ms after the restart: " << countsPerWindow(accepts, 100) << "\n";
  if (syns.size() != attempts_since_restart) WARN("the capture is incomplete: " << capture.log());

  std::vector<FaultRow> rows;
  {
    // Every one is the server's 1012. (A rare 1002, 1007 or 1009 protocol_error
    // here was wsprobe reading its own masked echo of the close as a reason:
    // libraryCloseViolation in probes/connection_end.h.)
    const double ends = sampleValue(text, "wsprobe_disconnects_total", {{"target", "herd"}}).value_or(0);
    const double restarts = sampleValue(text, "wsprobe_disconnects_total",
                                        {{"target", "herd"}, {"code", "1012"}, {"cause", "server_close"}})
                                .value_or(0);
    FaultRow row{"5,000 connections closed at once with 1012 (server restart)",
                 "1012 server_close x5000; 5000 open again", disconnectSummary(text, "herd"),
                 restarts == kConnections};
    row.observed += "; " + std::to_string(static_cast<long>(openOf(text, "herd"))) +
                    " open again; the server sent " + std::to_string(seen.value("restart_closes", 0)) +
                    " close frames";
    row.held = row.held && ends == kConnections && openOf(text, "herd") == kConnections &&
               seen.value("restart_closes", 0) == kConnections;
    rows.push_back(row);
  }
  // Issue 10: at most a tenth (500) of them in any 100 ms, measured when
  // wsprobe starts each one (its first SYN). The capture is complete when it
  // holds one attempt for every attempt wsprobe counted since the restart.
  {
    const bool complete =
        syns.size() == attempts_since_restart && syns.size() >= static_cast<std::size_t>(kConnections);
    FaultRow row{"their reconnections, by each attempt's first SYN (backoff_initial 3 s, full jitter)",
                 "all 5,000 on the wire, at most 500 (a tenth) in any 100 ms", spread.str(),
                 complete && by_syn.attempts <= kConnections / 10};
    // What holds it: wsprobe's draws are spread (tests/unit/
    // reconnect_spread_test.cpp), and attempts start at no more than 2,500 a
    // second, 25 at once after a pause (probes/attempt_pacer.h). Without the
    // pace the SYNs followed the server: busy for 1-2.5 s with the 5,000
    // close handshakes, it completed no upgrade, the first 256 reconnections
    // held every handshake place, and each upgrade it then completed in a
    // batch started a waiting attempt at once (10.2-11.5 % in 4 of 11 runs).
    rows.push_back(row);
  }
  // For comparison: when the server accepted them.
  rows.push_back({"their reconnections, by the server's accept times", "all 5,000 accepted (spread printed)",
                  accepted.str(), accepts.size() >= static_cast<std::size_t>(kConnections)});
  rows.push_back({"/metrics served throughout", "every scrape answered", watch.summary(),
                  watch.failures() == 0 && watch.scrapes() > 10});
  rows.push_back({"counts balance at rest", "attempts = opens + failures; opens = open + disconnects",
                  books.empty() ? "balanced" : books, books.empty()});
  printFaultTable("Reconnection storm", rows);
  checkRows(rows, daemon);
}
