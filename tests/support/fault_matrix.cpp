#include "support/fault_matrix.h"

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/http_client.h"
#include "support/scrape.h"

namespace wsprobe::testing {

using namespace std::chrono_literals;

NamespacedDaemon::NamespacedDaemon(const NetworkNamespace& ns, const std::string& config)
    : host_(ns.namespaceAddress()) {
  directory_.write("wsprobe.toml", config);
  daemon_ = std::make_unique<WsprobeBinary>(
      std::vector<std::string>{"--config.file=" + directory_.file("wsprobe.toml"),
                               "--web.listen-address=" + host_ + ":0", "--log.level=info"},
      directory_.file("wsprobe.log"), ns.exec({}));
  waitFor([&] { return (port_ = daemon_->port()) != 0; }, 20s);
  if (port_ == 0) throw std::runtime_error("wsprobe did not start in the namespace:\n" + log());
}

NamespacedDaemon::~NamespacedDaemon() {
  daemon_->process().signal(SIGTERM);
  daemon_->process().waitExit(10s);
}

std::string NamespacedDaemon::scrape() const {
  const auto result = httpRequestTo(host_, port_, "GET", "/metrics");
  return result.status == 200 ? result.body : std::string();
}

std::optional<double> NamespacedDaemon::metric(const std::string& name, const Labels& labels) const {
  return sampleValue(scrape(), name, labels);
}

bool NamespacedDaemon::waitForMetric(const std::string& name, const Labels& labels, double at_least,
                                     std::chrono::milliseconds timeout) const {
  return waitFor([&] { return metric(name, labels).value_or(-1) >= at_least; }, timeout);
}

ScrapeWatch::ScrapeWatch(const std::string& host, int port)
    : thread_([this, host, port] {
        while (!stopping_) {
          const auto started = std::chrono::steady_clock::now();
          const auto result = httpRequestTo(host, port, "GET", "/metrics");
          const long took = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
          ++scrapes_;
          if (result.status != 200 || result.body.find("wsprobe_build_info") == std::string::npos) {
            ++failures_;
          }
          if (took > slowest_us_) slowest_us_ = took;
          for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(20ms);
        }
      }) {}

ScrapeWatch::~ScrapeWatch() { stop(); }

void ScrapeWatch::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string ScrapeWatch::summary() const {
  std::ostringstream out;
  out << scrapes_ << " scrapes, " << failures_ << " failed, slowest "
      << static_cast<int>(slowestSeconds() * 1000) << " ms";
  return out.str();
}

std::vector<Sample> samplesOf(const std::string& exposition, const std::string& name) {
  std::vector<Sample> samples;
  std::istringstream lines(exposition);
  std::string line;
  const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const std::size_t after = name.size();
    if (after >= line.size() || (line[after] != '{' && line[after] != ' ')) continue;
    Sample sample;
    const std::size_t value_at = line.rfind(' ');
    if (line[after] == '{') {
      const std::size_t close = line.rfind('}');
      if (close == std::string::npos) continue;
      const std::string inside = line.substr(after + 1, close - after - 1);
      for (std::sregex_iterator it(inside.begin(), inside.end(), label), end; it != end; ++it) {
        sample.labels[(*it)[1]] = (*it)[2];
      }
    }
    sample.value = std::strtod(line.c_str() + value_at + 1, nullptr);
    samples.push_back(std::move(sample));
  }
  return samples;
}

namespace {

double sumFor(const std::string& exposition, const std::string& name, const std::string& target) {
  double sum = 0;
  for (const auto& sample : samplesOf(exposition, name)) {
    const auto found = sample.labels.find("target");
    if (found != sample.labels.end() && found->second == target) sum += sample.value;
  }
  return sum;
}

std::string summaryOf(const std::string& exposition, const std::string& name, const std::string& target,
                      const std::vector<std::string>& keys) {
  std::map<std::string, double> counts;
  for (const auto& sample : samplesOf(exposition, name)) {
    if (sample.labels.count("target") == 0 || sample.labels.at("target") != target || sample.value == 0)
      continue;
    std::string key;
    for (const auto& label : keys) {
      const auto found = sample.labels.find(label);
      if (found == sample.labels.end() || found->second.empty()) continue;
      if (!key.empty()) key += ' ';
      key += found->second;
    }
    counts[key] += sample.value;
  }
  if (counts.empty()) return "none";
  std::string out;
  for (const auto& [key, count] : counts) {
    if (!out.empty()) out += ", ";
    out += key + " x" + std::to_string(static_cast<long>(count));
  }
  return out;
}

}  // namespace

std::string disconnectSummary(const std::string& exposition, const std::string& target) {
  return summaryOf(exposition, "wsprobe_disconnects_total", target, {"code", "cause"});
}

std::string failureSummary(const std::string& exposition, const std::string& target) {
  return summaryOf(exposition, "wsprobe_connection_failures_total", target, {"stage", "status"});
}

std::string unbalancedBooks(const std::string& exposition, const std::string& target) {
  const double attempts = sumFor(exposition, "wsprobe_connection_attempts_total", target);
  const double opens = sumFor(exposition, "wsprobe_handshake_duration_seconds_count", target);
  const double failures = sumFor(exposition, "wsprobe_connection_failures_total", target);
  const double open_now = sumFor(exposition, "wsprobe_connections_open", target);
  const double ends = sumFor(exposition, "wsprobe_disconnects_total", target);
  const double lifetimes = sumFor(exposition, "wsprobe_connection_lifetime_seconds_count", target);
  std::ostringstream out;
  if (attempts != opens + failures) {
    out << target << ": attempts " << attempts << " != opens " << opens << " + failures " << failures << "; ";
  }
  if (opens != open_now + ends) {
    out << target << ": opens " << opens << " != open " << open_now << " + disconnects " << ends << "; ";
  }
  if (ends != lifetimes) out << target << ": disconnects " << ends << " != lifetimes " << lifetimes << "; ";
  return out.str();
}

void printFaultTable(const std::string& title, const std::vector<FaultRow>& rows) {
  std::ostringstream out;
  out << "\n### " << title << "\n\n| fault | expected | observed | |\n|---|---|---|---|\n";
  for (const auto& row : rows) {
    out << "| " << row.fault << " | " << row.expected << " | " << row.observed << " | "
        << (row.held ? "ok" : "**differs**") << " |\n";
  }
  std::cout << out.str() << std::flush;
  if (const char* file = std::getenv("WSPROBE_FAULT_TABLE")) {
    std::ofstream(file, std::ios::app) << out.str();
  }
}

}  // namespace wsprobe::testing
