#include "testbed/connection_transport.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace wsprobe::endpoints {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

ConnectionTransport::ConnectionTransport(int fd, SSL_CTX* tls) : fd_(fd) {
  if (tls == nullptr) return;
  ssl_ = SSL_new(tls);
  network_in_ = BIO_new(BIO_s_mem());
  network_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || network_in_ == nullptr || network_out_ == nullptr) {
    // Out of memory: the connection fails on its first read.
    BIO_free(network_in_);
    BIO_free(network_out_);
    network_in_ = network_out_ = nullptr;
    failed_ = true;
    return;
  }
  // An empty memory BIO means "no data yet", not end of file.
  BIO_set_mem_eof_return(network_in_, -1);
  SSL_set_bio(ssl_, network_in_, network_out_);
  SSL_set_accept_state(ssl_);
}

ConnectionTransport::~ConnectionTransport() {
  close();
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs
}

ConnectionTransport::ReadResult ConnectionTransport::receive(std::string& out) {
  if (failed_ || fd_ < 0) return ReadResult::failed;
  char chunk[kReadChunk];
  ReadResult result = ReadResult::ok;
  while (true) {
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got > 0) {
      if (ssl_ == nullptr) {
        out.append(chunk, static_cast<std::size_t>(got));
      } else if (BIO_write(network_in_, chunk, static_cast<int>(got)) != got) {
        failed_ = true;
        return ReadResult::failed;
      }
      continue;
    }
    if (got == 0) {
      result = ReadResult::closed;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    failed_ = true;
    return ReadResult::failed;
  }
  if (ssl_ != nullptr) {
    // Plaintext that arrived before the FIN still counts.
    const ReadResult tls_result = readPlaintext(out);
    if (tls_result != ReadResult::ok) return tls_result;
  }
  return result;
}

ConnectionTransport::ReadResult ConnectionTransport::readPlaintext(std::string& out) {
  if (!handshake_done_) {
    const int done = SSL_do_handshake(ssl_);
    const bool moved = moveCiphertextOut();
    if (done != 1) {
      const int error = SSL_get_error(ssl_, done);
      ERR_clear_error();
      if (error == SSL_ERROR_WANT_READ && moved) return ReadResult::ok;
      flush();  // the alert that tells the client why
      failed_ = true;
      return ReadResult::failed;
    }
    handshake_done_ = true;
  }
  char chunk[16 * 1024];
  while (true) {
    const int got = SSL_read(ssl_, chunk, sizeof chunk);
    if (got > 0) {
      out.append(chunk, static_cast<std::size_t>(got));
      continue;
    }
    const int error = SSL_get_error(ssl_, got);
    ERR_clear_error();
    // Reading may have produced records to send (key updates, alerts).
    if (!moveCiphertextOut()) return ReadResult::failed;
    if (error == SSL_ERROR_WANT_READ) return ReadResult::ok;
    if (error == SSL_ERROR_ZERO_RETURN) return ReadResult::closed;
    failed_ = true;
    return ReadResult::failed;
  }
}

bool ConnectionTransport::send(std::string_view plaintext) {
  if (failed_ || fd_ < 0) return false;
  if (ssl_ == nullptr) {
    pending_.append(plaintext);
  } else {
    if (!handshake_done_) return false;
    while (!plaintext.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(plaintext.size(), INT_MAX));
      const int written = SSL_write(ssl_, plaintext.data(), chunk);
      if (written <= 0) {
        ERR_clear_error();
        failed_ = true;
        return false;
      }
      plaintext.remove_prefix(static_cast<std::size_t>(written));
    }
    if (!moveCiphertextOut()) return false;
  }
  return flush();
}

bool ConnectionTransport::moveCiphertextOut() {
  if (ssl_ == nullptr) return true;
  char chunk[16 * 1024];
  while (BIO_ctrl_pending(network_out_) > 0) {
    const int got = BIO_read(network_out_, chunk, sizeof chunk);
    if (got <= 0) break;
    pending_.append(chunk, static_cast<std::size_t>(got));
  }
  return !failed_;
}

bool ConnectionTransport::flush() {
  if (failed_ || fd_ < 0) return false;
  while (sent_ < pending_.size()) {
    const ssize_t put =
        ::send(fd_, pending_.data() + sent_, pending_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put >= 0) {
      sent_ += static_cast<std::size_t>(put);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    failed_ = true;
    return false;
  }
  if (sent_ == pending_.size()) {
    pending_.clear();
    sent_ = 0;
  }
  return true;
}

void ConnectionTransport::discardPendingOutput() {
  pending_.clear();
  sent_ = 0;
}

void ConnectionTransport::queueCloseNotify() {
  if (ssl_ == nullptr || !handshake_done_ || failed_) return;
  SSL_shutdown(ssl_);
  ERR_clear_error();
  moveCiphertextOut();
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
