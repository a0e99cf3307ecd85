// What wsprobe reports, held against what went over the wire: Debian's tshark
// captures the loopback (capture filter on the server's port) while the real
// engine pings the testbed's server on 127.0.0.1, and the test decodes the
// WebSocket frames from the captured TCP payloads itself. The figures come
// from the same metric series the agent exports (TargetReporter on a
// registry of the test's own).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "agent/event_log.h"
#include "agent/metrics.h"
#include "agent/target_reporter.h"
#include "probes/engine.h"
#include "probes/websocket_url.h"
#include "support/child_process.h"
#include "support/scrape.h"
#include "testbed/misbehaving_endpoint.h"

using namespace std::chrono_literals;
using namespace wsprobe;
using namespace wsprobe::testing;

namespace {

// One WebSocket frame as seen on the wire: the time of the packet that
// carried its last byte (tshark's capture time, microseconds).
struct WireFrame {
  double at = 0;  // seconds, CLOCK_REALTIME
  int opcode = 0;
  std::string payload;  // unmasked
};

// One direction of one TCP connection, put back together from its segments.
struct WireStream {
  std::string bytes;  // not yet parsed
  bool past_http = false;
  std::string http_head;  // the request or response head
  std::vector<WireFrame> frames;

  void append(const std::string& data, double at) {
    bytes += data;
    if (!past_http) {
      const auto end = bytes.find("\r\n\r\n");
      if (end == std::string::npos) return;
      http_head = bytes.substr(0, end);
      bytes.erase(0, end + 4);
      past_http = true;
    }
    while (true) {
      if (bytes.size() < 2) return;
      const auto b0 = static_cast<unsigned char>(bytes[0]);
      const auto b1 = static_cast<unsigned char>(bytes[1]);
      std::size_t header = 2;
      std::uint64_t length = b1 & 0x7f;
      if (length == 126) {
        if (bytes.size() < 4) return;
        length = (static_cast<unsigned char>(bytes[2]) << 8) | static_cast<unsigned char>(bytes[3]);
        header = 4;
      } else if (length == 127) {
        if (bytes.size() < 10) return;
        length = 0;
        for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<unsigned char>(bytes[i]);
        header = 10;
      }
      const bool masked = (b1 & 0x80) != 0;
      const std::size_t mask_at = header;
      if (masked) header += 4;
      if (bytes.size() < header + length) return;
      WireFrame frame;
      frame.at = at;
      frame.opcode = b0 & 0x0f;
      frame.payload = bytes.substr(header, length);
      if (masked) {
        for (std::size_t i = 0; i < frame.payload.size(); ++i) frame.payload[i] ^= bytes[mask_at + i % 4];
      }
      frames.push_back(std::move(frame));
      bytes.erase(0, header + length);
    }
  }
};

std::string fromHex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// tshark on the loopback, printing one line per TCP segment of the server's
// port as it captures: time, source port, destination port, payload (hex).
class WireCapture {
 public:
  explicit WireCapture(int server_port) : server_port_(server_port) {
    output_ = directory_.file("packets.tsv");
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"tshark", "-i", "lo", "-n", "-l", "-f",
                                 "tcp port " + std::to_string(server_port), "-o",
                                 "tcp.desegment_tcp_streams:FALSE", "-T", "fields", "-e", "frame.time_epoch",
                                 "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.payload"},
        std::vector<std::string>{}, output_);
  }
  ~WireCapture() { stop(); }

  // Waits until tshark shows a TCP connection the test made to the server's
  // port: from then on, nothing on the port is missed.
  bool waitUntilCapturing(std::chrono::milliseconds timeout) {
    return waitFor(
        [&] {
          const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in address{};
          address.sin_family = AF_INET;
          address.sin_port = htons(static_cast<std::uint16_t>(server_port_));
          address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          int local_port = 0;
          if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
            sockaddr_in local{};
            socklen_t length = sizeof local;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
            local_port = ntohs(local.sin_port);
          }
          ::close(fd);
          // tshark needs a moment to print what it captured.
          return local_port != 0 && waitFor([&] { return sawPort(local_port); }, 300ms);
        },
        timeout);
  }

  // The streams of every TCP connection, by client port: [0] client to
  // server, [1] server to client.
  std::map<int, std::array<WireStream, 2>> streams() const {
    std::map<int, std::array<WireStream, 2>> result;
    std::istringstream lines(readFile(output_));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string at, source, destination, payload;
      if (!std::getline(fields, at, '\t') || !std::getline(fields, source, '\t') ||
          !std::getline(fields, destination, '\t')) {
        continue;
      }
      std::getline(fields, payload, '\t');
      if (at.empty() || source.empty() || destination.empty()) continue;
      const int from = std::stoi(source);
      const int to = std::stoi(destination);
      const bool to_server = to == server_port_;
      auto& both = result[to_server ? from : to];
      if (!payload.empty()) both[to_server ? 0 : 1].append(fromHex(payload), std::stod(at));
    }
    return result;
  }

  void stop() {
    if (!child_) return;
    child_->signal(SIGINT);
    if (!child_->waitExit(5s)) child_->signal(SIGKILL);
    child_.reset();
  }

  std::string log() const { return readFile(output_); }

 private:
  bool sawPort(int port) const {
    const std::string needle = "\t" + std::to_string(port) + "\t";
    return readFile(output_).find(needle) != std::string::npos;
  }

  int server_port_;
  TempDir directory_;
  std::string output_;
  std::unique_ptr<ChildProcess> child_;
};

// The agent's reporter (the exported series), plus every RTT in order.
class RecordingReporter final : public ProbeObserver {
 public:
  RecordingReporter(MetricFamilies& families, const TargetSpec& spec, EventLog& events)
      : reporter_(families, spec, "", events) {}

  void onAttempt(ConnectionMode mode, bool replacing) override { reporter_.onAttempt(mode, replacing); }
  void onFailure(ConnectionMode mode, const ConnectionFailure& failure) override {
    reporter_.onFailure(mode, failure);
  }
  void onOpen(ConnectionMode mode, Duration handshake) override { reporter_.onOpen(mode, handshake); }
  void onEnd(const ConnectionEnd& end) override { reporter_.onEnd(end); }
  void onRoundTrip(Duration rtt) override {
    reporter_.onRoundTrip(rtt);
    std::lock_guard lock(mutex_);
    rtts_.push_back(std::chrono::duration<double>(rtt).count());
  }
  void onOpenCount(ConnectionMode mode, int count) override {
    if (mode == ConnectionMode::heartbeat) open = count;
    reporter_.onOpenCount(mode, count);
  }
  void onUp(bool up) override { reporter_.onUp(up); }
  void onMessageSent() override { reporter_.onMessageSent(); }
  void onMessageReceived() override { reporter_.onMessageReceived(); }
  void onIdleTimeoutEstimate(double seconds) override { reporter_.onIdleTimeoutEstimate(seconds); }

  std::vector<double> rtts() const {
    std::lock_guard lock(mutex_);
    return rtts_;
  }
  std::atomic<int> open{0};

 private:
  TargetReporter reporter_;
  mutable std::mutex mutex_;
  std::vector<double> rtts_;
};

TargetSpec pingingTarget(const std::string& name, const std::string& url) {
  TargetSpec spec;
  spec.name = name;
  std::string error;
  spec.url = *parseWebSocketUrl(url, &error);
  spec.protocol = "raw";
  spec.ping_interval = 100ms;
  spec.pong_timeout = 10s;
  spec.connect_timeout = 10s;
  spec.backoff_initial = 50ms;
  spec.backoff_max = 200ms;
  return spec;
}

// A sample of the registry: the histogram's sum and count, or a counter.
struct Sample {
  double sum = 0;
  double count = 0;
};
Sample collect(prometheus::Registry& registry, const std::string& name, const std::map<std::string, std::string>& labels) {
  Sample sample;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      const bool matches = std::all_of(labels.begin(), labels.end(), [&](const auto& wanted) {
        return std::any_of(metric.label.begin(), metric.label.end(), [&](const auto& label) {
          return label.name == wanted.first && label.value == wanted.second;
        });
      });
      if (!matches) continue;
      sample.sum += metric.histogram.sample_sum + metric.counter.value;
      sample.count += static_cast<double>(metric.histogram.sample_count);
    }
  }
  return sample;
}

std::string requestPath(const std::string& http_head) {
  // "GET /path HTTP/1.1"
  const auto first_space = http_head.find(' ');
  const auto second_space = http_head.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) return {};
  return http_head.substr(first_space + 1, second_space - first_space - 1);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// What both tests stand on: a test endpoint that tshark watches on loopback,
// the metrics and event log the targets' reporters write to, and a running
// engine.
struct WireBench {
  WireBench() {
    REQUIRE(capture.waitUntilCapturing(20s));
    REQUIRE(engine.start(nullptr));
  }
  endpoints::MisbehavingEndpoint server{endpoints::EndpointBehaviour{}};
  WireCapture capture{server.port()};
  prometheus::Registry registry;
  MetricFamilies families{registry};
  EventLog events;
  Engine engine;  // last: it stops before what its reporters write to goes
};

}  // namespace

TEST_CASE("wire truth: the RTT wsprobe reports is the ping-to-pong gap on the wire", "[integration]") {
  if (!haveProgram("tshark")) FAIL("tshark is not installed (scripts/setup.sh installs it)");
  WireBench bench;
  const std::vector<std::string> names = {"a", "b", "c"};
  std::map<std::string, std::shared_ptr<RecordingReporter>> reporters;
  for (const auto& name : names) {
    const TargetSpec spec = pingingTarget(name, bench.server.url("/" + name));
    reporters[name] = std::make_shared<RecordingReporter>(bench.families, spec, bench.events);
    bench.engine.addTarget(spec, reporters[name]);
  }
  constexpr std::size_t kPings = 30;
  const bool enough = waitFor(
      [&] {
        return std::all_of(names.begin(), names.end(),
                           [&](const auto& name) { return reporters[name]->rtts().size() >= kPings; });
      },
      30s);
  // Closes every connection (1001): its close frame is the last thing the
  // capture has to show.
  bench.engine.shutdown(2s);
  REQUIRE(enough);
  REQUIRE(waitFor(
      [&] {
        int closed = 0;
        for (const auto& [port, both] : bench.capture.streams()) {
          for (const auto& frame : both[0].frames) closed += frame.opcode == 0x8;
        }
        return closed >= static_cast<int>(names.size());
      },
      20s));
  bench.capture.stop();

  std::map<std::string, std::array<WireStream, 2>> by_target;
  for (auto& [port, both] : bench.capture.streams()) {
    const std::string path = requestPath(both[0].http_head);
    if (path.size() > 1) by_target[path.substr(1)] = both;
  }
  for (const auto& name : names) {
    INFO("target " << name);
    REQUIRE(by_target.count(name) == 1);
    const auto& [to_server, to_client] = by_target[name];
    std::map<std::string, double> pings;
    for (const auto& frame : to_server.frames) {
      if (frame.opcode == 0x9) pings[frame.payload] = frame.at;
    }
    // Pings and pongs paired by payload, in the order the pongs came.
    std::vector<double> wire_rtts;
    for (const auto& frame : to_client.frames) {
      if (frame.opcode != 0xA) continue;
      const auto ping = pings.find(frame.payload);
      REQUIRE(ping != pings.end());
      wire_rtts.push_back(frame.at - ping->second);
    }
    const std::vector<double> reported = reporters[name]->rtts();
    const Sample metric = collect(bench.registry, "wsprobe_ping_rtt_seconds", {{"target", name}});
    // Every pong on the wire is counted once, and nothing else is.
    REQUIRE(reported.size() == wire_rtts.size());
    REQUIRE(metric.count == static_cast<double>(wire_rtts.size()));

    double wire_sum = 0;
    double reported_sum = 0;
    std::vector<double> differences;
    for (std::size_t i = 0; i < wire_rtts.size(); ++i) {
      wire_sum += wire_rtts[i];
      reported_sum += reported[i];
      differences.push_back(reported[i] - wire_rtts[i]);
    }
    const double wire_mean = wire_sum / static_cast<double>(wire_rtts.size());
    const double reported_mean = metric.sum / metric.count;
    std::printf(
        "wire truth %s: %zu pings, mean RTT reported %.1f us, on the wire %.1f us (difference %.1f us); "
        "per ping: median difference %.1f us, smallest %.1f us, largest %.1f us\n",
        name.c_str(), wire_rtts.size(), reported_mean * 1e6, wire_mean * 1e6, (reported_mean - wire_mean) * 1e6,
        median(differences) * 1e6, *std::min_element(differences.begin(), differences.end()) * 1e6,
        *std::max_element(differences.begin(), differences.end()) * 1e6);
    // The exported mean is the mean of exactly these pings.
    CHECK(reported_mean == Approx(reported_sum / static_cast<double>(reported.size())).epsilon(1e-9));
    // No ping is reported much shorter than its gap on the wire, and the
    // typical one is not shorter at all. Both ends are kernel stamps a few
    // microseconds from the capture's own (transmit stamp before it, receive
    // stamp in the same softirq pass), but on a loaded machine the loopback's
    // deferred softirq work can put one of them on the other side: -17 us was
    // seen once in a CI run. A send time read after send() instead fails the
    // median: on loopback send() also delivers the ping to the server, which
    // may answer before it returns (tens of microseconds on this VM).
    for (std::size_t i = 0; i < differences.size(); ++i) {
      INFO("ping " << i << ": reported " << reported[i] * 1e6 << " us, wire " << wire_rtts[i] * 1e6 << " us");
      CHECK(differences[i] >= -50e-6);
      CHECK(differences[i] < 0.5);
    }
    CHECK(median(differences) >= -2e-6);  // 2 us: tshark's microsecond stamps
    // The mean within 50 us of the wire's. Both ends are the kernel's stamps
    // on plain ws://: the pong's receive stamp is taken in the same softirq
    // pass as the capture's (measured +0.2 us), the ping's transmit stamp as
    // the packet goes to the loopback device, a few microseconds before the
    // capture sees it come in (+5 us median). A clock read before send()
    // measured +32-40 us median here (send() on this VM takes that long
    // before the packet leaves), +39-61 us in the mean: it would not hold.
    std::printf("wire truth %s: kernel receive stamps %s, transmit stamps %s\n", name.c_str(),
                Engine::kernelReceiveStamps() ? "in use" : "not available",
                Engine::kernelTransmitStamps() ? "in use" : "not available");
    REQUIRE(Engine::kernelReceiveStamps());
    REQUIRE(Engine::kernelTransmitStamps());
    CHECK(std::abs(reported_mean - wire_mean) <= 50e-6);
  }
}

TEST_CASE("wire truth: every close frame the server sends is counted under its own code", "[integration]") {
  if (!haveProgram("tshark")) FAIL("tshark is not installed (scripts/setup.sh installs it)");
  WireBench bench;
  TargetSpec spec = pingingTarget("closed", bench.server.url("/"));
  spec.connections = 2;
  auto reporter = std::make_shared<RecordingReporter>(bench.families, spec, bench.events);
  bench.engine.addTarget(spec, reporter);

  const std::vector<int> codes = {1000, 1001, 1011, 1012, 1013, 4000, 4999};
  auto counted = [&](int code) {
    return collect(bench.registry, "wsprobe_disconnects_total",
                   {{"target", "closed"}, {"code", std::to_string(code)}})
        .sum;
  };
  for (const int code : codes) {
    INFO("close code " << code);
    REQUIRE(waitFor([&] { return reporter->open == 2 && bench.server.openConnections() == 2; }, 20s));
    bench.server.closeOpenConnections(code, "wire truth");
    REQUIRE(waitFor([&] { return counted(code) >= 2; }, 20s));
  }
  REQUIRE(waitFor([&] { return reporter->open == 2; }, 20s));
  // Nothing closes now: the counts are final before the agent's own closes.
  std::map<int, double> metric_counts;
  double metric_total = 0;
  for (const auto& family : bench.registry.Collect()) {
    if (family.name != "wsprobe_disconnects_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "code") metric_counts[std::stoi(label.value)] += metric.counter.value;
      }
      metric_total += metric.counter.value;
    }
  }
  std::map<int, double> wire_counts;
  REQUIRE(waitFor(
      [&] {
        wire_counts.clear();
        double total = 0;
        for (const auto& [port, both] : bench.capture.streams()) {
          for (const auto& frame : both[1].frames) {
            if (frame.opcode != 0x8 || frame.payload.size() < 2) continue;
            const int code = (static_cast<unsigned char>(frame.payload[0]) << 8) |
                             static_cast<unsigned char>(frame.payload[1]);
            wire_counts[code] += 1;
            total += 1;
          }
        }
        return total >= metric_total;
      },
      20s));
  bench.engine.shutdown(2s);
  bench.capture.stop();
  CHECK(wire_counts == metric_counts);
  for (const int code : codes) CHECK(wire_counts[code] == 2);
}
