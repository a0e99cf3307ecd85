// The bytes of one accepted connection: plain TCP, or TLS with OpenSSL reading
// and writing the socket itself (SSL_set_fd). What the socket does not take at
// once waits in a queue until it is writable.
//
// OpenSSL writes the socket without MSG_NOSIGNAL: a thread that uses a TLS
// transport first calls blockSigpipeOnThisThread(), so a write to a client that
// has gone away fails with EPIPE instead of killing the process. No
// process-wide signal disposition changes.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace wsprobe::endpoints {

// Blocks SIGPIPE for the calling thread. A SIGPIPE raised by its own write
// stays pending on it and is discarded when the thread ends.
void blockSigpipeOnThisThread();

class ConnectionTransport {
 public:
  // Takes ownership of the non-blocking socket `fd`. `tls` null: plain TCP.
  ConnectionTransport(int fd, SSL_CTX* tls);
  ~ConnectionTransport();
  ConnectionTransport(const ConnectionTransport&) = delete;
  ConnectionTransport& operator=(const ConnectionTransport&) = delete;

  int fd() const { return fd_; }

  // Reads everything the socket holds now (under TLS: finishing the handshake
  // first) and appends the plaintext to `out`. False once the peer has ended
  // its side (FIN, TLS close_notify) or the connection failed.
  bool receive(std::string& out);

  // Queues `plaintext` and sends what the socket takes now. Returns false once
  // the socket has failed.
  bool send(std::string_view plaintext);
  // Sends queued bytes; false once the socket has failed.
  bool flush();
  bool hasPendingOutput() const { return sent_ < pending_.size(); }

  // Ends our direction: a TLS close_notify (nothing for plain TCP), then a FIN.
  void finishOutput();
  // Ends our direction with a FIN only; the peer may still send.
  void shutdownWrite();
  // Closes now with an RST (SO_LINGER 0) instead of a FIN.
  void resetAndClose();
  // Closes now (a FIN, unless unread data makes the kernel send an RST).
  void close();
  // The socket failed (reset, write error, TLS error): nothing more will pass.
  bool failed() const { return failed_; }

 private:
  int fd_;
  SSL* ssl_ = nullptr;   // null for plain TCP
  std::string pending_;  // plaintext for the socket; pending_[sent_..] not yet sent
  std::size_t sent_ = 0;
  bool failed_ = false;
};

}  // namespace wsprobe::endpoints
