#include "testbed/misbehaving_endpoint.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "testbed/endpoint_state.h"
#include "testbed/served_connection.h"

namespace wsprobe::endpoints {

namespace {

std::runtime_error endpointError(const std::string& where, const std::string& what) {
  return std::runtime_error("misbehaving endpoint " + where + ": " + what);
}

std::string openSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct SslContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using SslContextPtr = std::unique_ptr<SSL_CTX, SslContextFree>;

SslContextPtr makeTlsContext(const EndpointBehaviour& behaviour) {
  if (behaviour.tls_cert_file.empty() && behaviour.tls_key_file.empty()) return nullptr;
  if (behaviour.tls_cert_file.empty() || behaviour.tls_key_file.empty()) {
    throw endpointError("TLS", "tls_cert_file and tls_key_file must both be set");
  }
  SslContextPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) throw endpointError("TLS", openSslError());
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(context.get(), behaviour.tls_cert_file.c_str()) != 1) {
    throw endpointError("TLS certificate " + behaviour.tls_cert_file, openSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(context.get(), behaviour.tls_key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context.get()) != 1) {
    throw endpointError("TLS key " + behaviour.tls_key_file, openSslError());
  }
  return context;
}

// A listening socket on host:port, and the port it got.
std::pair<int, int> listenOn(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  if (port < 0 || port > 65535) throw endpointError(where, "port out of range");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int error = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0) {
    throw endpointError(where, ::gai_strerror(error));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw endpointError(where, std::strerror(errno));
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    const int error = errno;
    ::close(fd);
    throw endpointError(where, std::strerror(error));
  }
  const in_port_t network_port = bound.ss_family == AF_INET6
                                     ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port;
  return {fd, ntohs(network_port)};
}

}  // namespace

struct MisbehavingEndpoint::Impl {
  Impl(EndpointBehaviour behaviour, std::string listen_host, int listen_port)
      : tls(makeTlsContext(behaviour)), state(std::move(behaviour), tls.get()),
        host(std::move(listen_host)) {
    const auto& configured = state.behaviour();
    if (configured.refuse_status != 0 &&
        (configured.refuse_status < 200 || configured.refuse_status > 599)) {
      throw endpointError("behaviour", "refuse_status must be an HTTP status from 200 to 599");
    }
    std::tie(listen_fd, port) = listenOn(host, listen_port);
    stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (stop_fd < 0) {
      const int error = errno;
      ::close(listen_fd);
      throw endpointError("eventfd", std::strerror(error));
    }
    try {
      acceptor = std::thread([this] { acceptLoop(); });
    } catch (...) {
      ::close(stop_fd);
      ::close(listen_fd);
      throw;
    }
  }

  ~Impl() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_fd, &one, sizeof one);
    acceptor.join();
    ::close(listen_fd);  // clients still in the backlog get an RST
    std::lock_guard lock(connections_mutex);
    for (auto& connection : connections) connection->stop();
    connections.clear();  // each destructor joins its thread
    ::close(stop_fd);
  }

  void acceptLoop() {
    while (true) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;  // "never happens"; the destructor still cleans up
      }
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: back off instead of spinning on the backlog.
          pollfd stop{stop_fd, POLLIN, 0};
          ::poll(&stop, 1, 100);
        }
        continue;
      }
      const int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);  // pongs leave at once
      state.recordAccept();
      std::lock_guard lock(connections_mutex);
      // Join the threads of connections that have ended, so a long demo does
      // not pile them up.
      connections.remove_if([](const auto& connection) { return connection->finished(); });
      try {
        connections.push_back(std::make_unique<ServedConnection>(state, fd));
      } catch (const std::system_error&) {
        // No thread to serve it: the socket was closed; the client sees a FIN.
      }
    }
  }

  template <typename Command>
  void forEachConnection(Command command) {
    std::lock_guard lock(connections_mutex);
    for (auto& connection : connections) command(*connection);
  }

  SslContextPtr tls;  // before state, which points at it
  EndpointState state;
  std::string host;
  int port = 0;
  int listen_fd = -1;
  int stop_fd = -1;  // eventfd: the destructor wants the acceptor to return
  std::mutex connections_mutex;
  std::list<std::unique_ptr<ServedConnection>> connections;
  std::thread acceptor;
};

MisbehavingEndpoint::MisbehavingEndpoint(EndpointBehaviour behaviour, std::string host, int port)
    : impl_(std::make_unique<Impl>(std::move(behaviour), std::move(host), port)) {}

MisbehavingEndpoint::~MisbehavingEndpoint() = default;

int MisbehavingEndpoint::port() const { return impl_->port; }

std::string MisbehavingEndpoint::url(std::string_view path) const {
  std::string result = impl_->tls ? "wss://" : "ws://";
  const std::string& host = impl_->host;
  result += host.find(':') == std::string::npos ? host : "[" + host + "]";
  result += ":" + std::to_string(impl_->port);
  if (path.empty() || path.front() != '/') result += '/';
  result += path;
  return result;
}

void MisbehavingEndpoint::dropOpenConnections(bool with_reset) {
  impl_->forEachConnection([with_reset](ServedConnection& connection) {
    connection.drop(with_reset);
  });
}

void MisbehavingEndpoint::closeOpenConnections(int code, std::string reason) {
  impl_->forEachConnection([&](ServedConnection& connection) { connection.close(code, reason); });
}

int MisbehavingEndpoint::connectionsAccepted() const {
  return impl_->state.read([](const Observations& seen) { return seen.connections_accepted; });
}

int MisbehavingEndpoint::upgradesCompleted() const {
  return impl_->state.read([](const Observations& seen) { return seen.upgrades_completed; });
}

int MisbehavingEndpoint::upgradesRefused() const {
  return impl_->state.read([](const Observations& seen) { return seen.upgrades_refused; });
}

int MisbehavingEndpoint::openConnections() const {
  return impl_->state.read(
      [](const Observations& seen) { return static_cast<int>(seen.open_ids.size()); });
}

std::vector<std::uint64_t> MisbehavingEndpoint::openConnectionIds() const {
  return impl_->state.read([](const Observations& seen) { return seen.open_ids; });
}

std::vector<int> MisbehavingEndpoint::closeCodesReceived() const {
  return impl_->state.read([](const Observations& seen) { return seen.close_codes; });
}

int MisbehavingEndpoint::abnormalClosures() const {
  return impl_->state.read([](const Observations& seen) { return seen.abnormal_closures; });
}

std::vector<SeenRequest> MisbehavingEndpoint::requests() const {
  return impl_->state.read([](const Observations& seen) { return seen.requests; });
}

int MisbehavingEndpoint::pingsReceived() const {
  return impl_->state.read([](const Observations& seen) { return seen.pings; });
}

int MisbehavingEndpoint::pongsSent() const {
  return impl_->state.read([](const Observations& seen) { return seen.pongs; });
}

int MisbehavingEndpoint::pingsSent() const {
  return impl_->state.read([](const Observations& seen) { return seen.pings_sent; });
}

int MisbehavingEndpoint::pongsReceived() const {
  return impl_->state.read([](const Observations& seen) { return seen.pongs_received; });
}

int MisbehavingEndpoint::messagesReceived() const {
  return impl_->state.read([](const Observations& seen) { return seen.messages; });
}

bool MisbehavingEndpoint::waitUntil(const std::function<bool()>& pred,
                                    std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace wsprobe::endpoints
