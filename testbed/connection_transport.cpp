#include "testbed/connection_transport.h"

#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace wsprobe::endpoints {

namespace {

// How long a TLS read that must write first (a handshake message the socket
// does not take at once; never seen on loopback) waits for room.
constexpr int kWriteWaitMs = 1000;

}  // namespace

void blockSigpipeOnThisThread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

ConnectionTransport::ConnectionTransport(int fd, SSL_CTX* tls) : fd_(fd) {
  if (tls == nullptr) return;
  ssl_ = SSL_new(tls);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
    failed_ = true;  // out of memory: the connection fails on its first read
    return;
  }
  // A write the socket took only in part is retried from the queue, which
  // may have moved and grown since.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_);
}

ConnectionTransport::~ConnectionTransport() {
  close();
  if (ssl_ != nullptr) SSL_free(ssl_);  // its socket BIO does not close the descriptor
}

bool ConnectionTransport::receive(std::string& out) {
  if (failed_ || fd_ < 0) return false;
  char chunk[16 * 1024];
  while (true) {
    if (ssl_ == nullptr) {
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got > 0) {
        out.append(chunk, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // 0: the peer's FIN
    }
    const int got = SSL_read(ssl_, chunk, sizeof chunk);
    if (got > 0) {
      out.append(chunk, static_cast<std::size_t>(got));
      continue;
    }
    const int error = SSL_get_error(ssl_, got);
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_READ) return true;
    pollfd writable{fd_, POLLOUT, 0};
    if (error == SSL_ERROR_WANT_WRITE && ::poll(&writable, 1, kWriteWaitMs) == 1) continue;
    // The peer ended (close_notify or TCP), or the handshake or the socket
    // failed; OpenSSL has already sent the alert that says why.
    return false;
  }
}

bool ConnectionTransport::send(std::string_view plaintext) {
  if (failed_ || fd_ < 0) return false;
  pending_.append(plaintext);
  return flush();
}

bool ConnectionTransport::flush() {
  while (!failed_ && fd_ >= 0 && sent_ < pending_.size()) {
    const std::size_t left = pending_.size() - sent_;
    if (ssl_ == nullptr) {
      const ssize_t put = ::send(fd_, pending_.data() + sent_, left, MSG_NOSIGNAL);
      if (put >= 0) {
        sent_ += static_cast<std::size_t>(put);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      failed_ = true;
      continue;
    }
    const int put = SSL_write(ssl_, pending_.data() + sent_, static_cast<int>(std::min<std::size_t>(left, INT_MAX)));
    if (put > 0) {
      sent_ += static_cast<std::size_t>(put);
      continue;
    }
    const int error = SSL_get_error(ssl_, put);
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) break;
    failed_ = true;
  }
  if (sent_ == pending_.size()) {
    pending_.clear();
    sent_ = 0;
  }
  return !failed_;
}

void ConnectionTransport::finishOutput() {
  if (ssl_ != nullptr && !failed_ && fd_ >= 0 && SSL_is_init_finished(ssl_)) {
    SSL_shutdown(ssl_);  // best effort: a full socket or a gone peer loses it
    ERR_clear_error();
  }
  shutdownWrite();
}

void ConnectionTransport::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void ConnectionTransport::resetAndClose() {
  if (fd_ < 0) return;
  const linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close();
}

void ConnectionTransport::close() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
}

}  // namespace wsprobe::endpoints
