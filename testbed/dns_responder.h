// A DNS server on UDP that misbehaves per name, for tests of the `dns`
// failure stage: known names get an A record, `refused` names get REFUSED
// (a failing resolver), `silent` names get no answer at all (a resolver that
// times out), and every other name gets NXDOMAIN. AAAA questions for known
// names get an empty answer (no IPv6 address).
//
// One thread; queries of one UDP datagram each (the stub resolver of glibc
// sends A and AAAA over UDP). The socket is bound in the constructor, in the
// network namespace of the calling thread.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

namespace wsprobe::endpoints {

struct DnsZone {
  std::map<std::string, std::string> addresses;  // lower-case name -> IPv4 address
  std::set<std::string> refused;
  std::set<std::string> silent;
};

class DnsResponder {
 public:
  // Listens on host:port (UDP; port 0: an ephemeral one). Throws
  // std::runtime_error naming the step if it cannot.
  explicit DnsResponder(DnsZone zone, const std::string& host = "127.0.0.1", int port = 0);
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  int port() const;
  // Questions received for `name` (any type), thread-safe.
  int queriesFor(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsprobe::endpoints
