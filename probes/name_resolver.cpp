#include "probes/name_resolver.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace wsprobe {

namespace {

// A thread with nothing to do for this long ends.
constexpr auto kIdleThread = std::chrono::seconds(10);

}  // namespace

struct NameResolver::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::uint64_t, std::string>> queue;
  Sink sink;  // empty once stopped
  int max_threads = 1;
  int threads = 0;
  int idle = 0;
  std::uint64_t next_ticket = 1;

  static void work(const std::shared_ptr<Shared>& shared);
};

void NameResolver::Shared::work(const std::shared_ptr<Shared>& shared) {
  std::unique_lock lock(shared->mutex);
  for (;;) {
    ++shared->idle;
    const bool woken =
        shared->wake.wait_for(lock, kIdleThread, [&] { return !shared->queue.empty() || !shared->sink; });
    --shared->idle;
    if (!woken || !shared->sink) break;
    auto [ticket, host] = std::move(shared->queue.front());
    shared->queue.pop_front();
    lock.unlock();

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_V4MAPPED;  // libwebsockets' hints with IPv6 enabled
    Answer answer;
    answer.ticket = ticket;
    const auto started = std::chrono::steady_clock::now();
    answer.status = getaddrinfo(host.c_str(), nullptr, &hints, &answer.list);
    answer.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
    if (answer.status != 0) answer.list = nullptr;

    lock.lock();
    if (shared->sink) {
      shared->sink(answer);
    } else if (answer.list) {
      freeaddrinfo(answer.list);
    }
  }
  --shared->threads;
}

NameResolver::NameResolver(Sink sink, int max_threads) : shared_(std::make_shared<Shared>()) {
  shared_->sink = std::move(sink);
  shared_->max_threads = max_threads < 1 ? 1 : max_threads;
}

NameResolver::~NameResolver() { stop(); }

std::uint64_t NameResolver::resolve(std::string host) {
  std::lock_guard lock(shared_->mutex);
  const std::uint64_t ticket = shared_->next_ticket++;
  shared_->queue.emplace_back(ticket, std::move(host));
  if (shared_->idle < static_cast<int>(shared_->queue.size()) && shared_->threads < shared_->max_threads) {
    ++shared_->threads;
    // Detached: a lookup cannot be interrupted, and stop() must not wait
    // for one that waits for a resolver that never answers.
    std::thread([shared = shared_] { Shared::work(shared); }).detach();
  } else {
    shared_->wake.notify_one();
  }
  return ticket;
}

void NameResolver::stop() {
  std::lock_guard lock(shared_->mutex);
  shared_->sink = nullptr;
  shared_->queue.clear();
  shared_->wake.notify_all();
}

bool isNumericHost(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

}  // namespace wsprobe
