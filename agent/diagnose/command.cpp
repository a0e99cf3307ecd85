#include "agent/diagnose/command.h"

#include <re2/re2.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>

#include "agent/config.h"
#include "agent/diagnose/report.h"
#include "agent/diagnose/session.h"
#include "agent/diagnose/verdict.h"
#include "probes/protocols/protocol_table.h"

namespace wsprobe::diagnose {

namespace {

using namespace std::chrono_literals;

std::atomic<bool> stop_requested{false};

void requestStop(int) { stop_requested = true; }

// Ctrl-C or SIGTERM ends the diagnosis early with a report, while installed.
class StopOnSignals {
 public:
  StopOnSignals() {
    struct sigaction action {};
    action.sa_handler = &requestStop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~StopOnSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

bool validHeaderName(const std::string& name) {
  static const std::string kSeparators = "()<>@,;:\\\"/[]?={} \t";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c > 32 && c < 127 && kSeparators.find(c) == std::string::npos;
  });
}

int usageError(const std::string& message) {
  std::cerr << "wsprobe diagnose: " << message << "\n";
  return 2;
}

}  // namespace

CLI::App* addCommand(CLI::App& app, CommandLine& line) {
  CLI::App* command = app.add_subcommand(
      "diagnose",
      "hold a pinged, an idle and (with --message) a data-frame connection to URL side by side, "
      "then say what ends them: idle timeouts, ignored pings, drops, refused upgrades");
  command->add_option("url", line.url, "ws:// or wss:// URL")->required();
  command->add_option("--duration", line.duration, "how long to watch (e.g. 90s, 5m)")->capture_default_str();
  command
      ->add_option("--ping-interval", line.ping_interval,
                   "heartbeat interval of the pinged and data-frame connections")
      ->capture_default_str();
  // One value per occurrence: a repeated flag adds one each, and the URL
  // after it stays the URL.
  command
      ->add_option("-H,--header", line.headers,
                   "extra request header \"Name: value\" (repeatable; values are never printed)")
      ->allow_extra_args(false);
  command->add_option("--subprotocol", line.subprotocols, "Sec-WebSocket-Protocol to offer (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--origin", line.origin, "Origin header to send");
  command->add_flag("--insecure", line.insecure, "do not verify the server's TLS certificate");
  command->add_option("--ca-file", line.ca_file, "PEM file of CAs to trust for wss://");
  auto* message = command->add_option("--message", line.message,
                                      "also hold a connection that sends this text frame as its heartbeat");
  command->add_option("--expect", line.expect, "regular expression a reply to --message must match")
      ->capture_default_str()
      ->needs(message);
  command
      ->add_option("--protocol", line.protocol,
                   "application protocol: auto (detect), raw (bare RFC 6455), socketio, graphql-ws, stomp, "
                   "mqtt, sockjs, phoenix, actioncable, signalr")
      ->capture_default_str();
  command->add_flag("--json", line.json, "print the report as JSON");
  return command;
}

int runCommand(const CommandLine& line) {
  Request request;
  std::string error;
  const auto url = parseWebSocketUrl(line.url, &error);
  if (!url) return usageError("URL: " + error);
  request.url = *url;
  const auto duration = parseDuration(line.duration, &error);
  if (!duration) return usageError("--duration: " + error);
  if (*duration <= Duration::zero()) return usageError("--duration must be more than zero");
  request.duration = *duration;
  const auto interval = parseDuration(line.ping_interval, &error);
  if (!interval) return usageError("--ping-interval: " + error);
  if (*interval < 10ms) return usageError("--ping-interval must be at least 10ms");
  request.ping_interval = *interval;
  // Twice the interval, between 2 s and 10 s: a slow answer is not a dead one.
  request.pong_timeout = std::clamp<Duration>(2 * *interval, 2s, 10s);
  for (const auto& header : line.headers) {
    const auto colon = header.find(':');
    std::string name = header.substr(0, colon);
    if (colon == std::string::npos || !validHeaderName(name)) {
      return usageError("--header wants \"Name: value\", got a header named \"" + name + "\"");
    }
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (value.find_first_of("\r\n") != std::string::npos)
      return usageError("--header " + name + ": the value holds a line break");
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  request.subprotocols = line.subprotocols;
  request.origin = line.origin;
  request.tls.insecure_skip_verify = line.insecure;
  if (!line.ca_file.empty()) {
    if (!std::ifstream(line.ca_file)) return usageError("--ca-file " + line.ca_file + ": cannot read it");
    request.tls.ca_file = line.ca_file;
  }
  if (line.protocol != "auto" && line.protocol != "raw" && !findProtocol(line.protocol))
    return usageError("--protocol " + line.protocol + ": not a known protocol");
  request.protocol = line.protocol;
  request.message = line.message;
  request.expect = line.expect;
  if (!line.message.empty()) {
    const RE2 pattern(line.expect, RE2::Quiet);
    if (!pattern.ok()) return usageError("--expect: invalid regular expression: " + pattern.error());
  }

  Observations seen;
  {
    StopOnSignals signals;
    stop_requested = false;
    ProgressOutput progress{&std::cerr, ::isatty(STDERR_FILENO) == 1};
    winsize size{};
    if (progress.terminal && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      progress.columns = size.ws_col;
    }
    seen = run(request, progress, stop_requested);
  }
  const auto findings = judge(seen);
  std::cout << (line.json ? renderJson(seen, findings) : renderText(seen, findings));
  std::cout.flush();
  return exitStatus(findings);
}

}  // namespace wsprobe::diagnose
