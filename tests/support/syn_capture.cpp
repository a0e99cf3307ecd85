#include "support/syn_capture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <utility>

#include "support/scrape.h"

namespace wsprobe::testing {

using namespace std::chrono_literals;

SynCapture::SynCapture(const NetworkNamespace& ns, const std::string& host, int port)
    : ns_(ns), host_(host), port_(port) {
  output_ = directory_.file("syns.tsv");
  const std::string filter = "dst host " + host + " and tcp dst port " + std::to_string(port) +
                             " and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn";
  // -B 64: a kernel buffer of 64 MiB, so a burst of SYNs is not dropped
  // while tshark is busy; -l: a line as each packet is captured.
  child_ = std::make_unique<ChildProcess>(
      ns.exec({"tshark", "-i", ns.namespaceInterface(), "-n", "-l", "-B", "64", "-f", filter, "-T", "fields",
               "-e", "frame.time_epoch", "-e", "tcp.srcport", "-e", "tcp.seq_raw"}),
      std::vector<std::string>{}, output_);
}

SynCapture::~SynCapture() { stop(); }

int SynCapture::probeConnection() const {
  int local_port = 0;
  ns_.inside([&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    if (::inet_pton(AF_INET, host_.c_str(), &address.sin_addr) == 1 &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      sockaddr_in local{};
      socklen_t length = sizeof local;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0)
        local_port = ntohs(local.sin_port);
    }
    ::close(fd);
  });
  return local_port;
}

bool SynCapture::waitUntilCapturing(std::chrono::milliseconds timeout) {
  return waitFor(
      [&] {
        const int local_port = probeConnection();
        if (local_port == 0) return false;
        // tshark needs a moment to print what it captured.
        return waitFor(
            [&] {
              const auto seen = attempts();
              return std::any_of(seen.begin(), seen.end(), [&](const SynAttempt& attempt) {
                return attempt.source_port == local_port;
              });
            },
            500ms);
      },
      timeout);
}

std::vector<SynAttempt> SynCapture::attempts() const {
  std::map<std::pair<int, std::uint32_t>, SynAttempt> by_attempt;
  std::istringstream lines(readFile(output_));
  for (std::string line; std::getline(lines, line);) {
    // tshark's own messages share the file: only "time<TAB>port<TAB>sequence" lines count.
    std::istringstream fields(line);
    std::string at, port, sequence;
    if (!std::getline(fields, at, '\t') || !std::getline(fields, port, '\t') ||
        !std::getline(fields, sequence, '\t') || at.empty() || port.empty() || sequence.empty()) {
      continue;
    }
    try {
      SynAttempt syn{std::stod(at), std::stoi(port), static_cast<std::uint32_t>(std::stoul(sequence)), 0};
      auto [entry, first] = by_attempt.try_emplace({syn.source_port, syn.sequence}, syn);
      if (!first) {
        entry->second.at = std::min(entry->second.at, syn.at);
        ++entry->second.retransmissions;
      }
    } catch (const std::exception&) {
      continue;  // not a packet line
    }
  }
  std::vector<SynAttempt> result;
  result.reserve(by_attempt.size());
  for (const auto& [key, attempt] : by_attempt) result.push_back(attempt);
  std::sort(result.begin(), result.end(),
            [](const SynAttempt& a, const SynAttempt& b) { return a.at < b.at; });
  return result;
}

void SynCapture::stop() {
  if (!child_) return;
  child_->signal(SIGINT);
  if (!child_->waitExit(5s)) child_->signal(SIGKILL);
  child_->waitExit(5s);
  child_.reset();
}

BusiestWindow busiestWindow(std::vector<double> times, double width) {
  std::sort(times.begin(), times.end());
  BusiestWindow busiest;
  for (std::size_t first = 0, last = 0; first < times.size(); ++first) {
    while (last < times.size() && times[last] < times[first] + width) ++last;
    if (last - first > busiest.attempts) {
      busiest.attempts = last - first;
      busiest.from = times[first];
    }
  }
  return busiest;
}

std::string countsPerWindow(const std::vector<double>& times, double width) {
  std::vector<int> counts;
  for (const double at : times) {
    const auto index = static_cast<std::size_t>(std::max(at, 0.0) / width);
    if (index >= counts.size()) counts.resize(index + 1, 0);
    ++counts[index];
  }
  std::string text;
  for (const int count : counts) text += (text.empty() ? "" : " ") + std::to_string(count);
  return text;
}

}  // namespace wsprobe::testing
