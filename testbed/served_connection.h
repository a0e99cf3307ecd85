// One accepted connection and the thread that serves it, from the TLS and
// HTTP handshakes through the frames to the end of TCP, misbehaving as the
// endpoint's behaviour says. Other threads talk to it only through commands
// (stop, drop, close) that wake its poll() through an eventfd.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testbed/connection_transport.h"
#include "testbed/endpoint_state.h"
#include "testbed/websocket_frames.h"

namespace wsprobe::endpoints {

class ServedConnection {
 public:
  // Takes ownership of the accepted non-blocking socket `fd` and starts the
  // thread. Throws std::system_error if no eventfd or thread can be had (the
  // socket is closed then).
  ServedConnection(EndpointState& endpoint, int fd);
  // Stops (if not finished) and joins.
  ~ServedConnection();
  ServedConnection(const ServedConnection&) = delete;
  ServedConnection& operator=(const ServedConnection&) = delete;

  // True once the thread has nothing left to do; join() is then immediate.
  bool finished() const { return finished_.load(); }

  // Commands, from any thread; each returns at once.
  // Ends the connection now; an open one first gets a close frame 1001 if
  // the socket takes it without waiting.
  void stop();
  void drop(bool with_reset);
  void close(int code, std::string reason);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase {
    request,   // TLS handshake and the HTTP request head
    silent,    // never_answer: reading and ignoring
    open,      // upgraded
    closing,   // we sent a close frame; waiting for the client's
    flushing,  // sending the last bytes, then a FIN
    draining,  // FIN sent; reading until the client's FIN
    done,
  };
  struct Command {
    enum class Kind { stop, drop, close } kind = Kind::stop;
    bool with_reset = false;
    int code = 0;
    std::string reason{};
  };

  void post(Command command);
  void run();
  void runCommands();
  void onTimers(Clock::time_point now);
  std::optional<Clock::time_point> nextDeadline() const;
  void waitForEvents(Clock::time_point now);
  void onReadable(Clock::time_point now);
  void onRequestBytes(std::string_view bytes, Clock::time_point now);
  void onRequestHead(std::string_view head, Clock::time_point now);
  void processFrames(Clock::time_point now);
  void onFrame(Frame& frame, Clock::time_point now);
  void onControlFrame(const Frame& frame, Clock::time_point now);
  void onMessage(std::uint8_t message_opcode, const std::string& message);
  void onCloseFrame(const std::string& payload, Clock::time_point now);
  void sendPong(const std::string& payload);

  // Answers with an HTTP error and ends the connection.
  void refuse(int status, std::string_view body, Clock::time_point now);
  // Sends a close frame and waits for the client's answer.
  void startClose(std::optional<int> code, std::string_view reason, Clock::time_point now);
  // A protocol violation: close frame with `code`, then end TCP.
  void failConnection(int code, std::string_view reason, Clock::time_point now);
  // Ends TCP without a close frame: FIN, or RST with `with_reset`.
  void dropConnection(bool with_reset, Clock::time_point now);
  // Sends what is queued, then a TLS close_notify and a FIN.
  void finishAfterOutput(Clock::time_point now);
  // The upgraded connection is over for the record.
  void markEnded(bool abnormal);

  EndpointState& endpoint_;
  const EndpointBehaviour& behaviour_;
  ConnectionTransport transport_;
  int wake_fd_ = -1;  // eventfd: commands pending

  std::mutex commands_mutex_;
  std::vector<Command> commands_;
  std::atomic<bool> finished_{false};

  // Owned by the connection's thread.
  Phase phase_ = Phase::request;
  Clock::time_point phase_deadline_;  // request, closing, flushing, draining
  std::string request_buffer_;
  FrameReader frames_;
  std::optional<std::uint8_t> message_opcode_;  // set while a fragmented message is in progress
  std::string message_;
  bool counted_open_ = false;  // recorded as open in endpoint_
  std::uint64_t id_ = 0;
  std::size_t sequence_ = 0;
  Clock::time_point upgraded_at_;
  Clock::time_point last_activity_;
  bool close_sent_ = false;
  std::deque<std::pair<Clock::time_point, std::string>> delayed_pongs_;
  std::string slow_output_;  // response_byte_interval: what is still to trickle out
  Clock::time_point next_slow_byte_;
  Clock::time_point next_flood_ping_;  // ping_flood_interval
  std::uint64_t flood_pings_ = 0;

  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace wsprobe::endpoints
