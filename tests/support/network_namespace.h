// A network namespace a test creates and removes: joined to the host by a
// veth pair (host end .1, namespace end .2 of a /30 in 10.216.0.0/16 picked
// from the process id), loopback up inside, its own nftables rules and its
// own resolv.conf (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf).
// Needs root, ip and nft.
#pragma once

#include <sched.h>

#include <functional>
#include <string>
#include <vector>

namespace wsprobe::testing {

class NetworkNamespace {
 public:
  // Whether this process may create one (root, ip and nft present); `why`
  // says what is missing.
  static bool available(std::string* why);

  // Creates it; throws std::runtime_error with the failing command's output.
  explicit NetworkNamespace(const std::string& tag);
  // Deletes the namespace (and with it the veth pair and the rules) and
  // /etc/netns/NAME.
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  const std::string& hostAddress() const { return host_address_; }            // the host's end
  const std::string& namespaceAddress() const { return inner_address_; }      // the namespace's end
  const std::string& namespaceInterface() const { return inner_interface_; }  // its veth end, inside

  // `ip netns exec NAME` followed by argv.
  std::vector<std::string> exec(std::vector<std::string> argv) const;
  // Loads an nftables script inside the namespace (`nft -f`); throws on failure.
  void nft(const std::string& script) const;
  // /etc/netns/NAME/resolv.conf, written in place (the bind mount of a
  // running process keeps seeing the same file).
  void writeResolvConf(const std::string& text) const;
  // Runs `work` with the calling thread inside the namespace, then moves the
  // thread back: sockets made by `work` stay in the namespace.
  void inside(const std::function<void()>& work) const;

 private:
  std::string name_;
  std::string host_interface_;
  std::string host_address_;
  std::string inner_address_;
  std::string inner_interface_;
  std::string etc_directory_;
  bool created_ = false;
};

}  // namespace wsprobe::testing
