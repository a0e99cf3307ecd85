#include "support/network_namespace.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/child_process.h"

namespace wsprobe::testing {

namespace {

using namespace std::chrono_literals;

void run(const std::vector<std::string>& argv) {
  const CommandResult result = runCommand(argv, 30s, true);
  if (result.exit_code != 0) {
    std::string line;
    for (const auto& word : argv) line += word + " ";
    throw std::runtime_error("network namespace: " + line + "failed (" + std::to_string(result.exit_code) +
                             "): " + result.output);
  }
}

// Closes a descriptor at the end of a scope.
struct Descriptor {
  explicit Descriptor(int value) : fd(value) {}
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int fd;
};

}  // namespace

bool NetworkNamespace::available(std::string* why) {
  if (::geteuid() != 0) {
    if (why) *why = "needs root (network namespaces, veth, nftables)";
    return false;
  }
  for (const char* tool : {"ip", "nft"}) {
    if (!haveProgram(tool)) {
      if (why) *why = std::string("needs ") + tool;
      return false;
    }
  }
  return true;
}

NetworkNamespace::NetworkNamespace(const std::string& tag) {
  const auto pid = static_cast<unsigned>(::getpid());
  name_ = "wsprobe-" + tag + "-" + std::to_string(pid);
  host_interface_ = "wsh" + std::to_string(pid);
  inner_interface_ = "wsn" + std::to_string(pid);
  // A /30 per process id: 10.216.A.B with B a multiple of 4.
  const std::string prefix = "10.216." + std::to_string((pid >> 6) & 0xFF) + ".";
  const unsigned base = (pid & 0x3F) << 2;
  host_address_ = prefix + std::to_string(base + 1);
  inner_address_ = prefix + std::to_string(base + 2);
  etc_directory_ = "/etc/netns/" + name_;

  // A namespace of the same name left by a killed run of this pid.
  runCommand({"ip", "netns", "delete", name_}, 10s, true);
  runCommand({"ip", "link", "delete", host_interface_}, 10s, true);
  run({"ip", "netns", "add", name_});
  created_ = true;
  run({"ip", "link", "add", host_interface_, "type", "veth", "peer", "name", inner_interface_, "netns",
       name_});
  run({"ip", "addr", "add", host_address_ + "/30", "dev", host_interface_});
  run({"ip", "link", "set", host_interface_, "up"});
  run({"ip", "-n", name_, "addr", "add", inner_address_ + "/30", "dev", inner_interface_});
  run({"ip", "-n", name_, "link", "set", inner_interface_, "up"});
  run({"ip", "-n", name_, "link", "set", "lo", "up"});
  std::filesystem::create_directories(etc_directory_);
  // Until a test says otherwise: no resolver at all (nothing listens there).
  writeResolvConf("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
}

NetworkNamespace::~NetworkNamespace() {
  if (created_) {
    runCommand({"ip", "netns", "delete", name_}, 30s, true);  // takes the veth pair along
    runCommand({"ip", "link", "delete", host_interface_}, 10s, true);
  }
  std::error_code ignored;
  std::filesystem::remove_all(etc_directory_, ignored);
}

std::vector<std::string> NetworkNamespace::exec(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
  return argv;
}

void NetworkNamespace::nft(const std::string& script) const {
  TempDir directory;
  directory.write("rules.nft", script);
  run(exec({"nft", "-f", directory.file("rules.nft")}));
}

void NetworkNamespace::writeResolvConf(const std::string& text) const {
  // Truncated and rewritten, never replaced: the file is bind-mounted.
  std::ofstream out(etc_directory_ + "/resolv.conf", std::ios::trunc);
  out << text;
  if (!out.flush())
    throw std::runtime_error("network namespace: cannot write " + etc_directory_ + "/resolv.conf");
}

void NetworkNamespace::inside(const std::function<void()>& work) const {
  const Descriptor home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  const Descriptor target(::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
  if (home.fd < 0 || target.fd < 0 || ::setns(target.fd, CLONE_NEWNET) != 0) {
    throw std::runtime_error("network namespace: cannot enter " + name_);
  }
  struct Return {
    int fd;
    ~Return() {
      // Failing to return would leave the test thread in the wrong place:
      // "never happens", so terminate loudly.
      if (::setns(fd, CLONE_NEWNET) != 0) std::terminate();
    }
  } back{home.fd};
  work();
}

}  // namespace wsprobe::testing
