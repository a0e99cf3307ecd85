#include "support/nginx_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/time_scale.h"

namespace wsprobe::testing {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  return address;
}

// A port the kernel just handed out on 127.0.0.1, released for nginx to bind.
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot bind a port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepting(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  const bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

std::string milliseconds(std::chrono::milliseconds value) { return std::to_string(value.count()) + "ms"; }

}  // namespace

std::string NginxProxy::binary() {
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin:/sbin";
  std::stringstream list(dirs);
  for (std::string dir; std::getline(list, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/nginx";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

NginxProxy::NginxProxy(Options options) {
  if (binary().empty()) throw std::runtime_error("nginx is not installed (scripts/setup.sh installs it)");
  std::string why;
  // The released port could be taken again before nginx binds it: retry.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (start(options, &why)) return;
  }
  throw std::runtime_error("nginx did not start: " + why);
}

bool NginxProxy::start(const Options& options, std::string* why) {
  process_.reset();
  port_ = freePort();
  const std::string& dir = directory_.path();
  std::ostringstream conf;
  conf << "daemon off;\n"
       << "master_process off;\n"  // one process: no workers to switch users or outlive the test
       << "worker_processes 1;\n"
       << "pid " << dir << "/nginx.pid;\n"
       << "error_log " << dir << "/error.log info;\n"
       << "events { worker_connections 256; }\n"
       << "http {\n"
       << "  access_log " << dir << "/access.log;\n"
       << "  client_body_temp_path " << dir << "/client_body;\n"
       << "  proxy_temp_path " << dir << "/proxy;\n"
       << "  fastcgi_temp_path " << dir << "/fastcgi;\n"
       << "  uwsgi_temp_path " << dir << "/uwsgi;\n"
       << "  scgi_temp_path " << dir << "/scgi;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port_ << ";\n"
       << "    location / {\n"
       << "      proxy_pass http://127.0.0.1:" << options.upstream_port << ";\n"
       << "      proxy_http_version 1.1;\n"
       << "      proxy_set_header Upgrade $http_upgrade;\n"
       << "      proxy_set_header Connection \"upgrade\";\n"
       << "      proxy_set_header Host $host;\n"
       << "      proxy_read_timeout " << milliseconds(options.read_timeout) << ";\n"
       << "      proxy_send_timeout " << milliseconds(options.send_timeout) << ";\n"
       << "    }\n"
       << "  }\n"
       << "}\n";
  directory_.write("nginx.conf", conf.str());
  process_ =
      std::make_unique<ChildProcess>(std::vector<std::string>{binary(), "-p", dir + "/", "-c",
                                                              dir + "/nginx.conf", "-e", dir + "/error.log"},
                                     std::vector<std::string>{}, dir + "/output.log");
  const auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(5));
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto status = process_->waitExit(std::chrono::milliseconds(0))) {
      *why = "exit status " + std::to_string(*status) + "\n" + errorLog() + readFile(dir + "/output.log");
      return false;
    }
    if (accepting(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling with a deadline
  }
  *why = "not accepting connections on port " + std::to_string(port_) + " after 5 s\n" + errorLog();
  return false;
}

NginxProxy::~NginxProxy() {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->waitExit(std::chrono::seconds(3))) process_->signal(SIGKILL);
  process_.reset();  // reaps it
}

std::string NginxProxy::url(std::string_view path) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::string NginxProxy::errorLog() const { return readFile(directory_.path() + "/error.log"); }

}  // namespace wsprobe::testing
