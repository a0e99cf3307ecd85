// Host name lookups off the service thread. getaddrinfo() blocks for as long
// as the resolver takes (with the default resolv.conf, 5 s x 2 for a server
// that never answers); run on the one service thread it would stall every
// held connection. Here each lookup runs on a thread of a small pool, and its
// answer is handed to a sink. getaddrinfo() itself is kept: it honours
// /etc/hosts, nsswitch.conf and every resolv.conf option, as the clients
// wsprobe stands in for do.
#pragma once

#include <netdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "probes/clock.h"

namespace wsprobe {

class NameResolver {
 public:
  struct Answer {
    std::uint64_t ticket = 0;
    int status = 0;            // getaddrinfo()'s return value (0: found)
    addrinfo* list = nullptr;  // on success; the sink owns it (freeaddrinfo)
    Duration took{};           // the lookup, on the monotonic clock
  };
  // Called on a resolver thread, never after stop() returned; it takes the
  // answer's list.
  using Sink = std::function<void(Answer)>;

  // At most `max_threads` lookups run at once; more wait in line.
  explicit NameResolver(Sink sink, int max_threads = 16);
  ~NameResolver();
  NameResolver(const NameResolver&) = delete;
  NameResolver& operator=(const NameResolver&) = delete;

  // Starts looking `host` up (for a TCP connection, IPv4 and IPv6, as
  // libwebsockets asks); the answer carries the ticket returned.
  std::uint64_t resolve(std::string host);
  // No answer is delivered once this returns; lookups still running finish
  // on their own threads and their answers are freed there.
  void stop();

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

// Whether `host` is an IPv4 or IPv6 address in numeric form (no lookup).
bool isNumericHost(const std::string& host);

}  // namespace wsprobe
