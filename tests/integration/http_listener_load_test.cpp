// Clients that connect and send nothing, or one byte a second (slowloris),
// must not take the listener away from a scrape (issue 10.1: four idle
// connections used to stall every endpoint for 10 s, and 1,000 kept new
// clients from even connecting). 1,000 idle ones, alone or with 1,000 slow
// ones, are held while /metrics is fetched. Each slow one holds a civetweb
// worker until its head times out (agent/http_server.cpp): with 64 workers,
// the scrapes behind them waited past their 10 s deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "support/agent_under_test.h"
#include "support/http_client.h"
#include "support/scrape.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kIdleClients = 1000;
constexpr int kSlowClients = 1000;
// Scrapes made while the slow clients are held, kScrapeGap apart: the whole
// test stays inside the agent's 10 s request-head deadline, after which it
// drops them.
constexpr int kScrapes = 12;
constexpr auto kScrapeGap = 400ms;

// 1,000 held sockets here plus the listener's 1,000 accepted ones, in one
// process: more than a default soft limit of 1,024 descriptors.
void raiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = 8192;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Connections to 127.0.0.1:port, closed by the destructor. When `slow`, a
// thread sends the next byte of a request head to each one every second.
class HeldClients {
 public:
  HeldClients(int port, int count, bool slow) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval connect_timeout{5, 0};
    for (int i = 0; i < count; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) break;
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
      if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        break;
      }
      sockets_.push_back(fd);
    }
    if (slow) sender_ = std::thread([this] { sendSlowly(); });
  }
  ~HeldClients() {
    stop_ = true;
    if (sender_.joinable()) sender_.join();
    for (const int fd : sockets_) close(fd);
  }
  std::size_t connected() const { return sockets_.size(); }
  // Connections the agent has not closed (nothing to read, no EOF or error).
  std::size_t stillOpen() const {
    std::size_t open = 0;
    char byte;
    for (const int fd : sockets_) {
      const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
    }
    return open;
  }
  int rounds() const { return rounds_; }

 private:
  void sendSlowly() {
    static constexpr std::string_view kHead = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
    for (std::size_t at = 0; !stop_; ++at) {
      // Past the fixed part: padding, so the head never ends.
      const char byte = at < kHead.size() ? kHead[at] : 'a';
      for (const int fd : sockets_) send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ++rounds_;
      for (int i = 0; i < 20 && !stop_; ++i) std::this_thread::sleep_for(50ms);
    }
  }

  std::vector<int> sockets_;
  std::thread sender_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
};

}  // namespace

TEST_CASE("1,000 idle connections, alone or with 1,000 slow ones, do not delay a scrape",
          "[integration][web]") {
  raiseDescriptorLimit();
  // The listener as shipped: all of its workers, even in the sanitizer tiers
  // (scripts/run-sanitizers.sh starts fewer for every other test).
  unsetenv("WSPROBE_SANITIZER_HTTP_WORKERS");
  wsprobe::testing::AgentUnderTest agent("");
  const bool with_slow = GENERATE(false, true);
  const char* kind = with_slow ? "idle + 1,000 slow (one byte a second)" : "idle";
  HeldClients idle(agent.port(), kIdleClients, false);
  REQUIRE(idle.connected() == kIdleClients);
  std::unique_ptr<HeldClients> slow;
  if (with_slow) {
    slow = std::make_unique<HeldClients>(agent.port(), kSlowClients, true);
    REQUIRE(slow->connected() == kSlowClients);
    // The slow ones have each sent a few bytes (and so been accepted: see
    // TCP_DEFER_ACCEPT) by the time of the scrapes.
    REQUIRE(wsprobe::testing::waitFor([&] { return slow->rounds() >= 3; }, 10s));
  }

  std::vector<double> times_ms;
  const int scrapes = with_slow ? kScrapes : 3;
  for (int i = 0; i < scrapes; ++i) {
    if (i > 0 && with_slow) std::this_thread::sleep_for(kScrapeGap);  // spread over the attack
    const auto start = Clock::now();
    const auto scrape = wsprobe::testing::httpGet(agent.port(), "/metrics");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    INFO(kind << " connections held; scrape " << i << " took " << ms << " ms");
    // Before the fix: no answer within the client's 10 s.
    REQUIRE(scrape.status == 200);
    CHECK(scrape.body.find("wsprobe_build_info{") != std::string::npos);
    // The goal is 100 ms; this loaded 2-core machine gets a margin.
    CHECK(ms < 1000);
    times_ms.push_back(ms);
  }
  if (with_slow) {
    // The attack was on for all the scrapes: the agent still holds the slow
    // connections (it drops them 10 s after taking each).
    CHECK(slow->stillOpen() >= kSlowClients * 9 / 10);
  }
  std::sort(times_ms.begin(), times_ms.end());
  std::printf("listener: %zu scrapes with %d %s connections held: median %.1f ms, slowest %.1f ms\n",
              times_ms.size(), kIdleClients, kind,
              times_ms[times_ms.size() / 2], times_ms.back());
}

namespace {

// This process's resident set, from /proc/self/status (kB).
long residentKilobytes() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return -1;
  char line[256];
  long kilobytes = -1;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kilobytes) == 1) break;
  }
  std::fclose(status);
  return kilobytes;
}

}  // namespace

// Found by the soak (issue 10): with civetweb's default queue every worker took
// a turn, and each one's first request left ~23-31 KB more of its stack and
// malloc cache resident, so RSS climbed for the first 1,100 scrapes (35 MB; a
// slope of 2 MB/h at one scrape a minute, hours of growth at Prometheus'
// interval). Sequential scrapes must go to the same few workers. Not run under
// the sanitizers (scripts/run-sanitizers.sh), whose allocators hold freed
// memory back and make RSS meaningless.
TEST_CASE("400 scrapes in a row reuse the same listener workers: resident memory stays flat",
          "[integration][web]") {
  unsetenv("WSPROBE_SANITIZER_HTTP_WORKERS");  // all 1,100 workers, as shipped
  wsprobe::testing::AgentUnderTest agent("");
  constexpr int kWarmUp = 50;
  constexpr int kScrapesInARow = 400;
  for (int i = 0; i < kWarmUp; ++i) REQUIRE(wsprobe::testing::httpGet(agent.port(), "/metrics").status == 200);
  const long before = residentKilobytes();
  REQUIRE(before > 0);
  for (int i = 0; i < kScrapesInARow; ++i) {
    REQUIRE(wsprobe::testing::httpGet(agent.port(), "/metrics").status == 200);
  }
  const long grown = residentKilobytes() - before;
  std::printf("listener: %d scrapes in a row grew RSS by %ld kB\n", kScrapesInARow, grown);
  // Before the fix: 9,300 kB here (the agent alone, 400 scrapes, each to a fresh worker).
  CHECK(grown < 3 * 1024);
}
