// The bytes of one accepted connection: plain TCP, or TLS run through memory
// BIOs. OpenSSL never reads or writes the socket itself: this class moves the
// ciphertext, always with MSG_NOSIGNAL, so a peer that has gone away can never
// raise SIGPIPE and no process-wide signal handling is needed.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace wsprobe::endpoints {

class ConnectionTransport {
 public:
  // Takes ownership of the non-blocking socket `fd`. `tls` null: plain TCP.
  ConnectionTransport(int fd, SSL_CTX* tls);
  ~ConnectionTransport();
  ConnectionTransport(const ConnectionTransport&) = delete;
  ConnectionTransport& operator=(const ConnectionTransport&) = delete;

  int fd() const { return fd_; }

  enum class ReadResult {
    ok,      // zero or more bytes appended; more may come
    closed,  // the peer ended its side (FIN, or TLS close_notify)
    failed,  // reset, read error, or TLS failure
  };
  // Reads everything the socket holds now and appends the plaintext to `out`.
  ReadResult receive(std::string& out);

  // Queues `plaintext` (encrypted first under TLS) and sends what the socket
  // takes now. Returns false once the socket has failed.
  bool send(std::string_view plaintext);
  // Sends queued bytes; false once the socket has failed.
  bool flush();
  bool hasPendingOutput() const { return sent_ < pending_.size(); }
  // Discards queued bytes that were never handed to the kernel.
  void discardPendingOutput();

  // Queues a TLS close_notify; nothing for plain TCP.
  void queueCloseNotify();
  // Ends our direction with a FIN; the peer may still send.
  void shutdownWrite();
  // Closes now with an RST (SO_LINGER 0) instead of a FIN.
  void resetAndClose();
  // Closes now (a FIN, unless unread data makes the kernel send an RST).
  void close();
  bool isOpen() const { return fd_ >= 0; }
  // The socket failed (reset, write error, TLS error): nothing more will pass.
  bool failed() const { return failed_; }

 private:
  bool moveCiphertextOut();
  ReadResult readPlaintext(std::string& out);

  int fd_;
  SSL* ssl_ = nullptr;      // null for plain TCP
  BIO* network_in_ = nullptr;   // ciphertext from the socket, read by OpenSSL (owned by ssl_)
  BIO* network_out_ = nullptr;  // ciphertext written by OpenSSL, for the socket (owned by ssl_)
  bool handshake_done_ = false;
  std::string pending_;     // bytes for the socket; pending_[sent_..] not yet sent
  std::size_t sent_ = 0;
  bool failed_ = false;
};

}  // namespace wsprobe::endpoints
