#include "agent/diagnose/preflight.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace wsprobe::diagnose {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd entry{fd, events, 0};
  for (;;) {
    const int n = ::poll(&entry, 1, remainingMs(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

std::string addressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

Preflight measurePreflight(const WebSocketUrl& url, const std::string& server_name, Duration timeout) {
  Preflight result;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url.port);
  auto started = Clock::now();
  const int resolved = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
  if (resolved != 0) {
    result.error = std::string("DNS lookup failed: ") + ::gai_strerror(resolved);
    return result;
  }
  result.dns = Clock::now() - started;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  result.address = addressText(found->ai_addr);

  Socket socket;
  socket.fd =
      ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, found->ai_protocol);
  if (socket.fd < 0) {
    result.error = std::string("cannot create a socket: ") + std::strerror(errno);
    return result;
  }
  started = Clock::now();
  if (::connect(socket.fd, found->ai_addr, found->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      result.error = std::string("TCP connect failed: ") + std::strerror(errno);
      return result;
    }
    if (!waitFor(socket.fd, POLLOUT, deadline)) {
      result.error = "TCP connect timed out";
      return result;
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      result.error = std::string("TCP connect failed: ") + std::strerror(error);
      return result;
    }
  }
  result.tcp = Clock::now() - started;
  if (!url.secure) return result;

  std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                              &::SSL_CTX_free);
  if (!context) {
    result.error = "cannot set up TLS";
    return result;
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, decltype(&::SSL_free)> tls(SSL_new(context.get()), &::SSL_free);
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_set_alpn_protos(tls.get(), kHttp11, sizeof kHttp11);
  const std::string& sni = server_name.empty() ? url.host : server_name;
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  SSL_ctrl(tls.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(sni.c_str()));
  SSL_set_fd(tls.get(), socket.fd);
  started = Clock::now();
  for (;;) {
    const int done = SSL_connect(tls.get());
    if (done == 1) break;
    const int why = SSL_get_error(tls.get(), done);
    const short events = why == SSL_ERROR_WANT_READ ? POLLIN : why == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      char text[256] = "";
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      result.error = std::string("TLS handshake failed: ") + (text[0] ? text : "connection closed");
      ERR_clear_error();
      return result;
    }
    if (!waitFor(socket.fd, events, deadline)) {
      result.error = "TLS handshake timed out";
      return result;
    }
  }
  result.tls = Clock::now() - started;
  SSL_shutdown(tls.get());
  return result;
}

}  // namespace wsprobe::diagnose
