#include "testbed/dns_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace wsprobe::endpoints {

namespace {

constexpr std::size_t kHeader = 12;
constexpr std::uint16_t kTypeA = 1;
constexpr int kNoError = 0;
constexpr int kNameError = 3;
constexpr int kRefused = 5;

std::runtime_error responderError(const std::string& what) {
  return std::runtime_error("DNS responder: " + what + ": " + std::strerror(errno));
}

struct Question {
  std::string name;     // lower case, without the final dot
  std::size_t end = 0;  // offset just past QTYPE and QCLASS
  std::uint16_t type = 0;
};

// The first question of a query, if the datagram holds one (no compression
// in questions: stub resolvers do not use it there).
std::optional<Question> parseQuestion(const std::string& query) {
  if (query.size() < kHeader) return std::nullopt;
  const auto byte = [&](std::size_t at) { return static_cast<std::uint8_t>(query[at]); };
  if ((byte(2) & 0x80) != 0 || ((byte(4) << 8) | byte(5)) != 1) return std::nullopt;  // not one question
  Question question;
  std::size_t at = kHeader;
  while (true) {
    if (at >= query.size()) return std::nullopt;
    const std::size_t length = byte(at++);
    if (length == 0) break;
    if (length > 63 || at + length > query.size()) return std::nullopt;
    if (!question.name.empty()) question.name += '.';
    for (std::size_t i = 0; i < length; ++i) {
      question.name += static_cast<char>(std::tolower(byte(at + i)));
    }
    at += length;
  }
  if (at + 4 > query.size()) return std::nullopt;
  question.type = static_cast<std::uint16_t>((byte(at) << 8) | byte(at + 1));
  question.end = at + 4;
  return question;
}

// The answer to `query`: its header and question, then an A record when
// `address` is set.
std::string answer(const std::string& query, const Question& question, int rcode,
                   std::optional<in_addr> address) {
  std::string reply = query.substr(0, question.end);
  const bool recursion_desired = (static_cast<std::uint8_t>(query[2]) & 0x01) != 0;
  reply[2] = static_cast<char>(0x84 | (recursion_desired ? 0x01 : 0x00));  // QR, AA, RD
  reply[3] = static_cast<char>(0x80 | rcode);                              // RA, RCODE
  reply[6] = 0;
  reply[7] = address ? 1 : 0;  // ANCOUNT
  for (std::size_t i = 8; i < kHeader; ++i) reply[i] = 0;
  if (address) {
    const unsigned char record[] = {0xC0, 0x0C,              // the name: a pointer to the question's
                                    0x00, 0x01,              // A
                                    0x00, 0x01,              // IN
                                    0x00, 0x00, 0x00, 0x05,  // TTL 5 s
                                    0x00, 0x04};
    reply.append(reinterpret_cast<const char*>(record), sizeof record);
    reply.append(reinterpret_cast<const char*>(&address->s_addr), 4);
  }
  return reply;
}

}  // namespace

struct DnsResponder::Impl {
  Impl(DnsZone served_zone, const std::string& host, int listen_port) : zone(std::move(served_zone)) {
    for (const auto& [name, text] : zone.addresses) {
      in_addr parsed{};
      if (::inet_pton(AF_INET, text.c_str(), &parsed) != 1) {
        throw std::runtime_error("DNS responder: not an IPv4 address for " + name + ": " + text);
      }
      addresses[name] = parsed;
    }
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw responderError("socket");
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_port = htons(static_cast<std::uint16_t>(listen_port));
    socklen_t length = sizeof bound;
    if (::inet_pton(AF_INET, host.c_str(), &bound.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
      const auto error = responderError("bind " + host + ":" + std::to_string(listen_port));
      ::close(fd);
      throw error;
    }
    port = ntohs(bound.sin_port);
    stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (stop_fd < 0) {
      const auto error = responderError("eventfd");
      ::close(fd);
      throw error;
    }
    worker = std::thread([this] { serve(); });
  }

  ~Impl() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_fd, &one, sizeof one);
    worker.join();
    ::close(stop_fd);
    ::close(fd);
  }

  void serve() {
    char buffer[1500];
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      sockaddr_in from{};
      socklen_t from_length = sizeof from;
      const ssize_t got =
          ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
      if (got <= 0) continue;
      const std::string query(buffer, static_cast<std::size_t>(got));
      const auto question = parseQuestion(query);
      if (!question) continue;
      {
        std::lock_guard lock(mutex);
        ++queries[question->name];
      }
      if (zone.silent.count(question->name) != 0) continue;
      std::string reply;
      if (zone.refused.count(question->name) != 0) {
        reply = answer(query, *question, kRefused, std::nullopt);
      } else if (const auto found = addresses.find(question->name); found != addresses.end()) {
        std::optional<in_addr> address;
        if (question->type == kTypeA) address = found->second;
        reply = answer(query, *question, kNoError, address);
      } else {
        reply = answer(query, *question, kNameError, std::nullopt);
      }
      ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
    }
  }

  const DnsZone zone;
  std::map<std::string, in_addr> addresses;
  int fd = -1;
  int stop_fd = -1;
  int port = 0;
  mutable std::mutex mutex;
  std::map<std::string, int> queries;
  std::thread worker;  // last: starts once everything above is ready
};

DnsResponder::DnsResponder(DnsZone zone, const std::string& host, int port)
    : impl_(std::make_unique<Impl>(std::move(zone), host, port)) {}

DnsResponder::~DnsResponder() = default;

int DnsResponder::port() const { return impl_->port; }

int DnsResponder::queriesFor(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  const auto found = impl_->queries.find(name);
  return found == impl_->queries.end() ? 0 : found->second;
}

}  // namespace wsprobe::endpoints
