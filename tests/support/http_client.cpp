#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "support/time_scale.h"

namespace wsprobe::testing {

HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::string& body) {
  return httpRequestTo("127.0.0.1", port, method, path, body);
}

HttpResult httpRequestTo(const std::string& host, int port, const std::string& method, const std::string& path,
                         const std::string& body) {
  HttpResult result;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return result;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return result;
  }
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" +
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return result;
  }
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(10));
  char buffer[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{fd, POLLIN, 0};
    if (poll(&waiting, 1, 200) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
    // civetweb closes after Connection: close; stop early once the body is complete.
    const auto header_end = response.find("\r\n\r\n");
    const auto length_at = response.find("Content-Length: ");
    if (header_end != std::string::npos && length_at != std::string::npos && length_at < header_end) {
      const std::size_t length = std::strtoul(response.c_str() + length_at + 16, nullptr, 10);
      if (response.size() >= header_end + 4 + length) break;
    }
  }
  close(fd);
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return result;
  result.status = std::atoi(response.c_str() + 9);
  const auto header_end = response.find("\r\n\r\n");
  if (header_end != std::string::npos) result.body = response.substr(header_end + 4);
  return result;
}

}  // namespace wsprobe::testing
