#include "probes/protocols/stomp_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace wsprobe {

namespace {

using std::chrono::milliseconds;

// stomp.js' default heart-beat offer.
constexpr std::string_view kDefaultHeartBeat = "10000,10000";
constexpr std::string_view kRttPrefix = "wsprobe-rtt-";
constexpr std::size_t kMaxDetail = 200;

struct HeartBeat {
  milliseconds first{0}; // cx (client) or sx (server): what the sender can send
  milliseconds second{0}; // cy or sy: what the sender wants to receive
};

// A decimal unsigned number (spaces around allowed).
std::optional<std::uint32_t> parseUnsigned(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  std::uint32_t value = 0;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

// "x,y" in milliseconds.
std::optional<HeartBeat> parseHeartBeat(std::string_view text) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos)
    return std::nullopt;
  const auto first = parseUnsigned(text.substr(0, comma));
  const auto second = parseUnsigned(text.substr(comma + 1));
  if (!first || !second)
    return std::nullopt;
  return HeartBeat{milliseconds(*first), milliseconds(*second)};
}

struct Frame {
  std::string_view command;
  std::string_view headers; // the header lines, each ending in an EOL
};

std::string_view withoutCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

// The value of the first header named `name` (the one that counts), raw.
std::optional<std::string_view> header(const Frame &frame,
                                       std::string_view name) {
  std::string_view rest = frame.headers;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    const std::string_view line = withoutCr(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view()
                                         : rest.substr(eol + 1);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && line.substr(0, colon) == name)
      return line.substr(colon + 1);
  }
  return std::nullopt;
}

enum class ParseResult { frame, none, malformed };

// The next frame of `rest` (advanced past it); `none` when only EOLs remain.
ParseResult nextFrame(std::string_view &rest, Frame &frame) {
  // EOLs (heart-beats) may come before a frame; a stray NUL is an empty frame.
  const auto start = rest.find_first_not_of(std::string_view("\r\n\0", 3));
  if (start == std::string_view::npos)
    return ParseResult::none;
  rest.remove_prefix(start);
  const auto command_end = rest.find('\n');
  if (command_end == std::string_view::npos)
    return ParseResult::malformed;
  frame.command = withoutCr(rest.substr(0, command_end));
  // The header block ends at the first empty line.
  std::size_t position = command_end + 1;
  while (true) {
    const auto eol = rest.find('\n', position);
    if (eol == std::string_view::npos)
      return ParseResult::malformed;
    if (withoutCr(rest.substr(position, eol - position)).empty()) {
      frame.headers =
          rest.substr(command_end + 1, position - (command_end + 1));
      position = eol + 1;
      break;
    }
    position = eol + 1;
  }
  const std::string_view body = rest.substr(position);
  std::size_t body_end = body.find('\0');
  if (const auto length = header(frame, "content-length")) {
    const auto bytes = parseUnsigned(*length);
    if (!bytes || *bytes > body.size())
      return ParseResult::malformed;
    body_end = *bytes;
    if (body_end < body.size() && body[body_end] != '\0')
      return ParseResult::malformed;
  }
  rest =
      body_end >= body.size() ? std::string_view() : body.substr(body_end + 1);
  return ParseResult::frame;
}

std::string shortened(std::string_view text) {
  return std::string(text.substr(0, kMaxDetail));
}

// Header value escaping of frames other than CONNECT/CONNECTED: STOMP 1.2
// escapes \r, \n, : and \; 1.1 the same but \r; 1.0 nothing.
void appendEscaped(std::string &out, std::string_view value,
                   int minor_version) {
  for (const char c : value) {
    if (minor_version >= 1 && c == '\\') {
      out += "\\\\";
    } else if (minor_version >= 1 && c == '\n') {
      out += "\\n";
    } else if (minor_version >= 1 && c == ':') {
      out += "\\c";
    } else if (minor_version >= 2 && c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
}

class StompSession final : public SessionProtocol {
public:
  explicit StompSession(const SessionSettings &settings)
      : settings_(settings) {}

  void start(const SessionStart &start, TimePoint, SessionSink &sink) override {
    idle_ = start.idle;
    std::string connect = "CONNECT\naccept-version:1.0,1.1,1.2\n";
    for (const std::string_view key : {"host", "login", "passcode"}) {
      const auto value = settings_.session.find(key);
      if (value == settings_.session.end() || !value->is_string())
        continue;
      connect.append(key)
          .append(":")
          .append(value->get_ref<const std::string &>())
          .append("\n");
    }
    connect.append("heart-beat:").append(heartBeatOffer()).append("\n\n");
    connect.push_back('\0');
    sink.send(MessageKind::text, connect);
  }

  void receive(MessageKind, std::string_view payload, TimePoint now,
               SessionSink &sink) override {
    std::string_view rest = payload;
    Frame frame;
    while (state_ != State::ended) {
      const ParseResult result = nextFrame(rest, frame);
      if (result == ParseResult::none)
        return;
      if (result == ParseResult::malformed) {
        if (state_ == State::awaiting_connected) {
          sink.sessionRefused("malformed",
                              "a frame without the end of its headers");
        } else {
          sink.sessionEnded(1002,
                            "a STOMP frame without the end of its headers");
        }
        state_ = State::ended;
        return;
      }
      handle(frame, now, sink);
    }
  }

  void tick(TimePoint now, SessionSink &sink) override {
    if (state_ != State::ready)
      return;
    if (beat_interval_ > Duration::zero() && now >= next_beat_) {
      sink.send(MessageKind::text, "\n");
      next_beat_ = now + beat_interval_;
    }
    if (timesReceipts() && now >= next_receipt_) {
      ++receipt_number_;
      const std::string id =
          std::string(kRttPrefix) + std::to_string(receipt_number_);
      std::string begin = "BEGIN\ntransaction:" + id + "\n\n";
      begin.push_back('\0');
      std::string abort =
          "ABORT\ntransaction:" + id + "\nreceipt:" + id + "\n\n";
      abort.push_back('\0');
      sink.send(MessageKind::text, begin);
      sink.send(MessageKind::text, abort);
      receipt_sent_ = now;
      receipt_in_flight_ = true;
      next_receipt_ = now + settings_.heartbeat_interval;
    }
  }

  std::optional<TimePoint> nextWake() const override {
    if (state_ != State::ready)
      return std::nullopt;
    std::optional<TimePoint> wake;
    if (beat_interval_ > Duration::zero())
      wake = next_beat_;
    if (timesReceipts())
      wake = wake ? std::min(*wake, next_receipt_) : next_receipt_;
    return wake;
  }

private:
  enum class State : std::uint8_t { awaiting_connected, ready, ended };

  bool timesReceipts() const {
    return !idle_ && settings_.heartbeat_interval > Duration::zero();
  }

  std::string_view heartBeatOffer() const {
    const auto value = settings_.session.find("heart_beat");
    if (value != settings_.session.end() && value->is_string())
      return value->get_ref<const std::string &>();
    return kDefaultHeartBeat;
  }

  void handle(const Frame &frame, TimePoint now, SessionSink &sink) {
    if (frame.command == "ERROR") {
      const std::string detail =
          shortened(header(frame, "message").value_or("ERROR frame"));
      if (state_ == State::awaiting_connected) {
        sink.sessionRefused("error_frame", detail);
      } else {
        sink.sessionEnded(1000, "ERROR frame: " + detail);
      }
      state_ = State::ended;
      return;
    }
    if (state_ == State::awaiting_connected) {
      if (frame.command == "CONNECTED")
        becomeReady(frame, now, sink);
      return;
    }
    if (frame.command == "MESSAGE") {
      sink.dataMessage();
    } else if (frame.command == "RECEIPT") {
      const auto id = header(frame, "receipt-id");
      if (receipt_in_flight_ && id &&
          *id == std::string(kRttPrefix) + std::to_string(receipt_number_)) {
        receipt_in_flight_ = false;
        sink.appRoundTrip(now - receipt_sent_);
      }
    }
  }

  void becomeReady(const Frame &connected, TimePoint now, SessionSink &sink) {
    state_ = State::ready;
    const auto version = header(connected, "version").value_or("1.0");
    minor_version_ = version == "1.2" ? 2 : version == "1.1" ? 1 : 0;
    // The client sends every max(cx, sy) when it can send (cx) and the server
    // wants them (sy).
    const HeartBeat ours =
        parseHeartBeat(heartBeatOffer()).value_or(HeartBeat{});
    const auto theirs_text = header(connected, "heart-beat");
    const HeartBeat theirs =
        theirs_text ? parseHeartBeat(*theirs_text).value_or(HeartBeat{})
                    : HeartBeat{};
    if (ours.first.count() != 0 && theirs.second.count() != 0) {
      beat_interval_ = std::max(ours.first, theirs.second);
      next_beat_ = now + beat_interval_;
    }
    next_receipt_ = now + settings_.heartbeat_interval;
    sink.sessionReady();
    if (idle_)
      return;
    int id = 0;
    for (const auto &destination : settings_.subscribe) {
      std::string subscribe =
          "SUBSCRIBE\nid:sub-" + std::to_string(id++) + "\ndestination:";
      appendEscaped(subscribe, destination, minor_version_);
      subscribe += "\nack:auto\n\n";
      subscribe.push_back('\0');
      sink.send(MessageKind::text, subscribe);
    }
  }

  const SessionSettings &settings_;
  TimePoint
      next_beat_{}; // when the next EOL heart-beat is due (beat_interval_ > 0)
  TimePoint
      next_receipt_{}; // when the next BEGIN/ABORT goes out (timesReceipts())
  TimePoint
      receipt_sent_{}; // when the newest one went out (receipt_in_flight_)
  Duration beat_interval_{}; // negotiated client heart-beat period; zero: none
  std::uint32_t receipt_number_ = 0; // n of the newest wsprobe-rtt-<n>
  State state_ = State::awaiting_connected;
  std::uint8_t minor_version_ = 0; // the server's STOMP 1.<n>
  bool idle_ = false;
  bool receipt_in_flight_ = false;
};

// Memory budget: 1 KB per connection over raw; this is what a codec costs.
static_assert(sizeof(StompSession) <= 64);

constexpr std::array<std::string_view, 4> kSessionKeys = {"login", "passcode",
                                                          "host", "heart_beat"};
constexpr std::array<std::string_view, 3> kSubprotocols = {
    "v12.stomp", "v11.stomp", "v10.stomp"};

std::string checkSessionValue(std::string_view key,
                              const nlohmann::json &value) {
  if (!value.is_string())
    return std::string(key) + " must be a string";
  const auto &text = value.get_ref<const std::string &>();
  if (key == "heart_beat") {
    if (!parseHeartBeat(text))
      return "heart_beat must be \"cx,cy\" in milliseconds, such as "
             "\"10000,10000\"";
    return "";
  }
  // CONNECT headers are not escaped: a line break would end the header.
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return std::string(key) + " must not hold a line break or NUL";
  }
  return "";
}

} // namespace

const ProtocolEntry &stompProtocol() {
  static const ProtocolEntry entry{
      .name = "stomp",
      .session_keys = kSessionKeys,
      .subprotocols = kSubprotocols,
      .takes_subscribe = true,
      .check_session_value = checkSessionValue,
      .make = makeCodec<StompSession>,
  };
  return entry;
}

} // namespace wsprobe
