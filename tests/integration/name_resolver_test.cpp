// NameResolver on this machine's own resolver: /etc/hosts and numeric
// addresses only, nothing leaves the machine.
#include "probes/name_resolver.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using namespace wsprobe;
using namespace std::chrono_literals;

namespace {

// Answers as they arrive on the resolver's threads.
struct Answers {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<NameResolver::Answer> list;

  NameResolver::Sink sink() {
    return [this](NameResolver::Answer answer) {
      std::lock_guard lock(mutex);
      list.push_back(answer);
      arrived.notify_all();
    };
  }
  bool waitFor(std::size_t count, std::chrono::seconds within) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, within, [&] { return list.size() >= count; });
  }
  ~Answers() {
    for (const auto& answer : list) {
      if (answer.list) freeaddrinfo(answer.list);
    }
  }
};

std::set<std::string> addressesOf(const addrinfo* list) {
  std::set<std::string> addresses;
  for (const addrinfo* a = list; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, text, sizeof text);
    }
    addresses.insert(text);
  }
  return addresses;
}

}  // namespace

TEST_CASE("name resolver: names from /etc/hosts and numeric addresses, each answer under its ticket",
          "[integration]") {
  Answers answers;
  NameResolver resolver(answers.sink(), 2);
  const auto localhost = resolver.resolve("localhost");
  const auto v4 = resolver.resolve("127.0.0.1");
  const auto v6 = resolver.resolve("::1");
  const auto bad = resolver.resolve("no such name!");  // not a valid host name: refused without a query
  REQUIRE(answers.waitFor(4, 10s));
  std::lock_guard lock(answers.mutex);
  for (const auto& answer : answers.list) {
    INFO("ticket " << answer.ticket << " status " << answer.status);
    if (answer.ticket == localhost) {
      CHECK(answer.status == 0);
      const auto addresses = addressesOf(answer.list);
      CHECK((addresses.count("127.0.0.1") == 1 || addresses.count("::1") == 1));
    } else if (answer.ticket == v4) {
      CHECK(answer.status == 0);
      CHECK(addressesOf(answer.list) == std::set<std::string>{"127.0.0.1"});
    } else if (answer.ticket == v6) {
      CHECK(answer.status == 0);
      CHECK(addressesOf(answer.list) == std::set<std::string>{"::1"});
    } else {
      CHECK(answer.ticket == bad);
      CHECK(answer.status != 0);
      CHECK(answer.list == nullptr);
    }
    CHECK(answer.took >= Duration::zero());
  }
}

TEST_CASE("name resolver: nothing is delivered after stop", "[integration]") {
  Answers answers;
  NameResolver resolver(answers.sink(), 1);
  resolver.stop();
  resolver.resolve("localhost");
  CHECK_FALSE(answers.waitFor(1, 1s));
}

TEST_CASE("name resolver: numeric hosts are told from names", "[integration]") {
  CHECK(isNumericHost("127.0.0.1"));
  CHECK(isNumericHost("::1"));
  CHECK(isNumericHost("2001:db8::1"));
  CHECK_FALSE(isNumericHost("localhost"));
  CHECK_FALSE(isNumericHost("example.com"));
  CHECK_FALSE(isNumericHost("[::1]"));
  CHECK_FALSE(isNumericHost(""));
}
