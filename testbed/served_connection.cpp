#include "testbed/served_connection.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <system_error>

#include "testbed/upgrade_request.h"

namespace wsprobe::endpoints {

namespace {

using namespace std::chrono_literals;

// The largest frame and message accepted from a client; beyond: close 1009.
constexpr std::uint64_t kMaxMessage = 16 * 1024 * 1024;
// A client that has not sent a whole request head by then is dropped.
constexpr auto kRequestTimeout = 10s;
// How long the client has to answer our close frame.
constexpr auto kCloseWait = 2s;
// How long the last bytes (an HTTP error, a close frame) may take to leave.
constexpr auto kLinger = 2s;
// After our FIN, how long we read until the client's FIN before closing.
constexpr auto kDrain = 2s;

constexpr int kGoingAway = 1001;
constexpr int kProtocolError = 1002;
constexpr int kNoStatus = 1005;
constexpr int kInvalidPayload = 1007;
constexpr int kMessageTooBig = 1009;

std::string invalidFrame(InvalidFrame kind) {
  switch (kind) {
    case InvalidFrame::none:
      return {};
    case InvalidFrame::reserved_opcode:
      return encodeFrame(std::uint8_t{0x80 | 0x3}, "reserved opcode");
    case InvalidFrame::reserved_bits:
      return encodeFrame(std::uint8_t{0x80 | 0x40 | opcode::text}, "RSV1 without an extension");
    case InvalidFrame::invalid_utf8:
      return encodeFrame(opcode::text, "not UTF-8: \xC0\xAF \xFF\xFE", true);
    case InvalidFrame::fragmented_ping:
      // A ping in two fragments: the first without FIN, then a continuation.
      return encodeFrame(opcode::ping, "fragmented", false) +
             encodeFrame(opcode::continuation, " ping", true);
  }
  return {};
}

}  // namespace

ServedConnection::ServedConnection(EndpointState& endpoint, int fd)
    : endpoint_(endpoint),
      behaviour_(endpoint.behaviour()),
      transport_(fd, endpoint.tls()),
      frames_(kMaxMessage) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  try {
    thread_ = std::thread([this] {
      blockSigpipeOnThisThread();
      run();
    });
  } catch (...) {
    ::close(wake_fd_);
    throw;
  }
}

ServedConnection::~ServedConnection() {
  stop();
  thread_.join();
  ::close(wake_fd_);
}

void ServedConnection::stop() { post({Command::Kind::stop}); }

void ServedConnection::drop(bool with_reset) {
  Command command{Command::Kind::drop};
  command.with_reset = with_reset;
  post(std::move(command));
}

void ServedConnection::close(int code, std::string reason) {
  Command command{Command::Kind::close};
  command.code = code;
  command.reason = std::move(reason);
  post(std::move(command));
}

void ServedConnection::post(Command command) {
  {
    std::lock_guard lock(commands_mutex_);
    commands_.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow: a wake-up is pending anyway.
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

void ServedConnection::run() {
  phase_deadline_ = Clock::now() + kRequestTimeout;
  while (phase_ != Phase::done) {
    runCommands();
    if (phase_ == Phase::done) break;
    const auto now = Clock::now();
    onTimers(now);
    if (phase_ == Phase::done) break;
    if (transport_.failed()) {
      // A send failed: the client is gone.
      if (phase_ == Phase::open || phase_ == Phase::closing) markEnded(true);
      break;
    }
    waitForEvents(now);
  }
  markEnded(false);
  transport_.close();
  finished_ = true;
}

void ServedConnection::runCommands() {
  std::vector<Command> commands;
  {
    std::lock_guard lock(commands_mutex_);
    commands.swap(commands_);
  }
  for (const auto& command : commands) {
    if (phase_ == Phase::done) return;
    const auto now = Clock::now();
    switch (command.kind) {
      case Command::Kind::stop: {
        if (phase_ == Phase::open) {
          // Best effort, without waiting: a server going away says so.
          transport_.send(
              encodeFrame(opcode::close, closePayload(kGoingAway, "endpoint shutting down"), true));
        }
        // Read what the client sent, so that close() sends a FIN, not an RST
        // that could destroy the close frame before the client reads it.
        std::string unread;
        transport_.receive(unread);
        markEnded(false);
        phase_ = Phase::done;
        return;
      }
      case Command::Kind::drop:
        if (phase_ == Phase::open || phase_ == Phase::closing) {
          dropConnection(command.with_reset, now);
        }
        break;
      case Command::Kind::close:
        if (phase_ == Phase::open) startClose(command.code, command.reason, now);
        break;
    }
  }
}

std::optional<ServedConnection::Clock::time_point> ServedConnection::nextDeadline() const {
  switch (phase_) {
    case Phase::request:
    case Phase::closing:
    case Phase::flushing:
    case Phase::draining:
      return phase_deadline_;
    case Phase::silent:
    case Phase::done:
      return std::nullopt;
    case Phase::open:
      break;
  }
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point when) {
    if (!next || when < *next) next = when;
  };
  // Every pong waits the same delay, so the first queued is due first.
  if (!delayed_pongs_.empty()) consider(delayed_pongs_.front().first);
  if (behaviour_.drop_after.count() > 0) consider(upgraded_at_ + behaviour_.drop_after);
  if (behaviour_.idle_timeout.count() > 0) consider(last_activity_ + behaviour_.idle_timeout);
  if (behaviour_.close_after.count() > 0 && !close_sent_) {
    consider(upgraded_at_ + behaviour_.close_after);
  }
  if (!slow_output_.empty()) consider(next_slow_byte_);
  if (behaviour_.ping_flood_interval.count() > 0 && slow_output_.empty()) consider(next_flood_ping_);
  return next;
}

void ServedConnection::onTimers(Clock::time_point now) {
  switch (phase_) {
    case Phase::request:
      if (now >= phase_deadline_) phase_ = Phase::done;
      return;
    case Phase::silent:
    case Phase::done:
      return;
    case Phase::open:
      if (!slow_output_.empty()) {
        // The 101 is still trickling out: nothing else may go in between.
        if (now >= next_slow_byte_) {
          transport_.send(slow_output_.substr(0, 1));
          slow_output_.erase(0, 1);
          next_slow_byte_ = now + behaviour_.response_byte_interval;
        }
        return;
      }
      if (behaviour_.ping_flood_interval.count() > 0 && now >= next_flood_ping_) {
        // One ping per wake-up; a late wake-up does not send a burst.
        transport_.send(encodeFrame(opcode::ping, std::to_string(++flood_pings_), true));
        endpoint_.recordPingSent();
        next_flood_ping_ = now + behaviour_.ping_flood_interval;
      }
      while (!delayed_pongs_.empty() && delayed_pongs_.front().first <= now) {
        sendPong(delayed_pongs_.front().second);
        delayed_pongs_.pop_front();
      }
      if (behaviour_.drop_after.count() > 0 && now >= upgraded_at_ + behaviour_.drop_after) {
        dropConnection(behaviour_.drop_with_reset, now);
      } else if (behaviour_.idle_timeout.count() > 0 &&
                 now >= last_activity_ + behaviour_.idle_timeout) {
        dropConnection(false, now);
      } else if (behaviour_.close_after.count() > 0 && !close_sent_ &&
                 now >= upgraded_at_ + behaviour_.close_after) {
        const auto& codes = behaviour_.close_codes;
        std::optional<int> code;
        if (!codes.empty()) code = codes[sequence_ % codes.size()];
        startClose(code, behaviour_.close_reason, now);
      }
      return;
    case Phase::closing:
      if (now >= phase_deadline_) {
        // The client never answered our close frame.
        markEnded(false);
        transport_.shutdownWrite();
        phase_ = Phase::draining;
        phase_deadline_ = now + kDrain;
      }
      return;
    case Phase::flushing:
      if (!transport_.hasPendingOutput()) {
        transport_.finishOutput();
        phase_ = Phase::draining;
        phase_deadline_ = now + kDrain;
      } else if (now >= phase_deadline_) {
        phase_ = Phase::done;
      }
      return;
    case Phase::draining:
      if (now >= phase_deadline_) phase_ = Phase::done;
      return;
  }
}

void ServedConnection::waitForEvents(Clock::time_point now) {
  int timeout_ms = -1;
  if (const auto deadline = nextDeadline()) {
    // Rounded up: waking a little early would only spin.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
    timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, INT_MAX));
  }
  short events = POLLIN;
  if (transport_.hasPendingOutput()) events |= POLLOUT;
  pollfd fds[2] = {{transport_.fd(), events, 0}, {wake_fd_, POLLIN, 0}};
  if (::poll(fds, 2, timeout_ms) < 0) {
    if (errno != EINTR) phase_ = Phase::done;  // "never happens": give the connection up
    return;
  }
  if ((fds[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
  }
  const auto after = Clock::now();
  if ((fds[0].revents & POLLOUT) != 0) transport_.flush();
  if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) onReadable(after);
}

void ServedConnection::onReadable(Clock::time_point now) {
  std::string bytes;
  const bool more = transport_.receive(bytes);
  if (!bytes.empty()) {
    switch (phase_) {
      case Phase::request:
        onRequestBytes(bytes, now);
        break;
      case Phase::open:
      case Phase::closing:
        frames_.append(bytes);
        processFrames(now);
        break;
      case Phase::silent:
      case Phase::flushing:
      case Phase::draining:
      case Phase::done:
        break;  // read and ignored
    }
  }
  if (more) return;
  // The client ended its side, or the socket failed.
  if (phase_ == Phase::open || phase_ == Phase::closing) markEnded(true);
  phase_ = Phase::done;
}

void ServedConnection::onRequestBytes(std::string_view bytes, Clock::time_point now) {
  request_buffer_.append(bytes);
  const std::size_t length = requestHeadLength(request_buffer_);
  if (length == 0) {
    if (request_buffer_.size() > kMaxRequestHead) {
      refuse(431, "request head too large\n", now);
    } else if (!couldBeRequestHead(request_buffer_)) {
      refuse(400, "not an HTTP request\n", now);
    }
    return;
  }
  if (length > kMaxRequestHead) {
    refuse(431, "request head too large\n", now);
    return;
  }
  // Frames sent right behind the request (before our 101) are kept.
  const std::string rest = request_buffer_.substr(length);
  request_buffer_.resize(length);
  onRequestHead(request_buffer_, now);
  request_buffer_ = std::string();
  if (phase_ == Phase::open && !rest.empty()) {
    frames_.append(rest);
    processFrames(now);
  }
}

void ServedConnection::onRequestHead(std::string_view head, Clock::time_point now) {
  auto parsed = parseRequestHead(head);
  if (parsed) endpoint_.recordRequest(parsed->request);
  if (behaviour_.never_answer) {
    phase_ = Phase::silent;
    return;
  }
  if (!parsed) {
    refuse(400, "malformed HTTP request\n", now);
    return;
  }
  const auto decision = decideUpgrade(*parsed);
  if (decision.status != 101) {
    refuse(decision.status, decision.problem, now);
    return;
  }
  if (endpoint_.refuseThisUpgrade()) {
    refuse(behaviour_.refuse_status, "upgrade refused by the endpoint's behaviour\n", now);
    return;
  }
  // Recorded before the 101 leaves, so a client that has read it can rely on
  // the counters.
  const auto upgrade = endpoint_.recordUpgrade();
  id_ = upgrade.id;
  sequence_ = upgrade.sequence;
  counted_open_ = true;
  phase_ = Phase::open;
  upgraded_at_ = now;
  last_activity_ = now;
  next_flood_ping_ = now + behaviour_.ping_flood_interval;
  std::string response = switchingProtocolsResponse(decision);
  response += invalidFrame(behaviour_.invalid_frame);
  if (behaviour_.response_byte_interval.count() > 0) {
    slow_output_ = std::move(response);
    next_slow_byte_ = now;
    return;
  }
  transport_.send(response);
}

void ServedConnection::processFrames(Clock::time_point now) {
  Frame frame;
  while (phase_ == Phase::open || phase_ == Phase::closing) {
    switch (frames_.next(frame)) {
      case FrameReader::Result::incomplete:
        return;
      case FrameReader::Result::too_big:
        failConnection(kMessageTooBig, "frame too big", now);
        return;
      case FrameReader::Result::frame:
        onFrame(frame, now);
        break;
    }
  }
}

void ServedConnection::onFrame(Frame& frame, Clock::time_point now) {
  if (!frame.masked) return failConnection(kProtocolError, "client frames must be masked", now);
  if (frame.reserved_bits != 0) return failConnection(kProtocolError, "reserved bits set", now);
  if ((frame.opcode & 0x8) != 0) return onControlFrame(frame, now);
  if (phase_ == Phase::closing) return;  // data after our close frame is discarded

  if (frame.opcode == opcode::continuation) {
    if (!message_opcode_) {
      return failConnection(kProtocolError, "continuation without a message", now);
    }
  } else if (frame.opcode == opcode::text || frame.opcode == opcode::binary) {
    if (message_opcode_) {
      return failConnection(kProtocolError, "new message inside a fragmented one", now);
    }
    message_opcode_ = frame.opcode;
    message_.clear();
  } else {
    return failConnection(kProtocolError, "reserved opcode", now);
  }
  if (message_.size() + frame.payload.size() > kMaxMessage) {
    return failConnection(kMessageTooBig, "message too big", now);
  }
  last_activity_ = now;  // every data frame is activity, pings or not
  if (message_.empty()) {
    message_.swap(frame.payload);
  } else {
    message_ += frame.payload;
  }
  if (!frame.fin) return;
  const std::uint8_t message_opcode = *message_opcode_;
  message_opcode_.reset();
  std::string message;
  message.swap(message_);
  if (message_opcode == opcode::text && !isValidUtf8(message)) {
    return failConnection(kInvalidPayload, "text message is not UTF-8", now);
  }
  onMessage(message_opcode, message);
}

void ServedConnection::onControlFrame(const Frame& frame, Clock::time_point now) {
  if (!frame.fin || frame.payload.size() > 125) {
    return failConnection(kProtocolError, "fragmented or oversized control frame", now);
  }
  switch (frame.opcode) {
    case opcode::close:
      return onCloseFrame(frame.payload, now);
    case opcode::ping:
      endpoint_.recordPing();
      if (behaviour_.pings_reset_idle) last_activity_ = now;
      if (phase_ != Phase::open || !behaviour_.answer_pings) return;
      if (behaviour_.pong_delay.count() > 0) {
        delayed_pongs_.emplace_back(now + behaviour_.pong_delay, frame.payload);
      } else {
        sendPong(frame.payload);
      }
      return;
    case opcode::pong:
      endpoint_.recordPongReceived();
      if (behaviour_.pings_reset_idle) last_activity_ = now;
      return;
    default:
      return failConnection(kProtocolError, "reserved control opcode", now);
  }
}

void ServedConnection::onMessage(std::uint8_t message_opcode, const std::string& message) {
  endpoint_.recordMessage();
  if (message_opcode == opcode::text && !behaviour_.reply_to_messages.empty()) {
    transport_.send(encodeFrame(opcode::text, behaviour_.reply_to_messages, true));
  } else if (behaviour_.echo) {
    transport_.send(encodeFrame(message_opcode, message, true));
  }
}

void ServedConnection::onCloseFrame(const std::string& payload, Clock::time_point now) {
  if (payload.size() == 1) return failConnection(kProtocolError, "one-byte close payload", now);
  int code = kNoStatus;
  if (payload.size() >= 2) {
    code = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  }
  endpoint_.recordCloseCode(code);
  markEnded(false);
  if (phase_ == Phase::closing) {
    // The client answered our close frame: the handshake is complete.
    finishAfterOutput(now);
    return;
  }
  // Answer with the client's code (none if it sent none), unless the frame
  // itself was invalid.
  std::optional<int> reply;
  if (payload.size() >= 2) {
    reply = code;
    if (!isSendableCloseCode(code)) {
      reply = kProtocolError;
    } else if (!isValidUtf8(std::string_view(payload).substr(2))) {
      reply = kInvalidPayload;
    }
  }
  close_sent_ = true;
  delayed_pongs_.clear();
  transport_.send(encodeFrame(opcode::close, closePayload(reply, ""), true));
  finishAfterOutput(now);
}

void ServedConnection::sendPong(const std::string& payload) {
  endpoint_.recordPong();
  transport_.send(encodeFrame(opcode::pong, payload, true));
}

void ServedConnection::refuse(int status, std::string_view body, Clock::time_point now) {
  transport_.send(errorResponse(status, body));
  finishAfterOutput(now);
}

void ServedConnection::startClose(std::optional<int> code, std::string_view reason,
                                  Clock::time_point now) {
  close_sent_ = true;
  delayed_pongs_.clear();
  transport_.send(encodeFrame(opcode::close, closePayload(code, reason), true));
  if (behaviour_.data_after_close) {
    transport_.send(encodeFrame(opcode::text, "data after the close frame", true));
  }
  phase_ = Phase::closing;
  phase_deadline_ = now + kCloseWait;
}

void ServedConnection::failConnection(int code, std::string_view reason, Clock::time_point now) {
  if (phase_ == Phase::open) {
    close_sent_ = true;
    transport_.send(encodeFrame(opcode::close, closePayload(code, reason), true));
  }
  markEnded(false);
  delayed_pongs_.clear();
  message_.clear();
  message_opcode_.reset();
  finishAfterOutput(now);
}

void ServedConnection::dropConnection(bool with_reset, Clock::time_point now) {
  markEnded(false);
  delayed_pongs_.clear();
  if (with_reset) {
    transport_.resetAndClose();
    phase_ = Phase::done;
    return;
  }
  // No close frame and no TLS close_notify: just a FIN, as a proxy that times
  // a connection out does.
  transport_.flush();
  transport_.shutdownWrite();
  phase_ = Phase::draining;
  phase_deadline_ = now + kDrain;
}

void ServedConnection::finishAfterOutput(Clock::time_point now) {
  transport_.flush();
  phase_ = Phase::flushing;
  phase_deadline_ = now + kLinger;
}

void ServedConnection::markEnded(bool abnormal) {
  if (!counted_open_) return;
  counted_open_ = false;
  endpoint_.recordEnd(id_, abnormal);
}

}  // namespace wsprobe::endpoints
