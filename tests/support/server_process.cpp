#include "support/server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <sstream>

#include "support/scrape.h"

namespace wsprobe::testing {

namespace {

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

std::optional<int> announcedPort(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("listening ", 0) == 0) {
      try {
        return std::stoi(line.substr(10));
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string testServersDirectory() { return std::string(WSPROBE_SOURCE_DIR) + "/tests/servers"; }

std::unique_ptr<ServerProcess> ServerProcess::startAnnouncing(const std::vector<std::string>& argv,
                                                              std::chrono::milliseconds timeout,
                                                              const std::vector<std::string>& extra_env) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->output_file_ = server->directory_.file("output.log");
  server->child_ = std::make_unique<ChildProcess>(argv, extra_env, server->output_file_);
  std::optional<int> port;
  const bool announced = waitFor(
      [&] {
        port = announcedPort(server->output());
        return port.has_value();
      },
      timeout);
  INFO("server output:\n" << server->output());
  REQUIRE(announced);
  server->port_ = *port;
  return server;
}

std::unique_ptr<ServerProcess> ServerProcess::startOnPort(const std::vector<std::string>& argv, int port,
                                                          std::chrono::milliseconds timeout,
                                                          const std::vector<std::string>& extra_env) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->output_file_ = server->directory_.file("output.log");
  server->child_ = std::make_unique<ChildProcess>(argv, extra_env, server->output_file_);
  server->port_ = port;
  const bool up = waitFor([&] { return accepts(port); }, timeout);
  INFO("server output:\n" << server->output());
  REQUIRE(up);
  return server;
}

std::unique_ptr<ServerProcess> ServerProcess::node(const std::string& script,
                                                   const std::vector<std::string>& args,
                                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"node", testServersDirectory() + "/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  return startAnnouncing(argv, timeout, {"NODE_PATH=" + testServersDirectory() + "/node_modules"});
}

ServerProcess::~ServerProcess() { stop(); }

void ServerProcess::stop() {
  if (!child_) return;
  child_->signal(SIGTERM);
  if (!child_->waitExit(std::chrono::seconds(2))) {
    child_->signal(SIGKILL);
    child_->waitExit(std::chrono::seconds(2));
  }
  child_.reset();
}

std::vector<std::string> ServerProcess::linesStartingWith(const std::string& prefix) const {
  std::vector<std::string> found;
  std::istringstream lines(output());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
  }
  return found;
}

}  // namespace wsprobe::testing
