#include "probes/protocols/socketio_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace wsprobe {

namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 4> kSessionKeys = {"auth", "namespace", "ack_event",
                                                          "subscribe_event"};

// Event names socket.io-client refuses to emit (its RESERVED_EVENTS).
constexpr std::array<std::string_view, 6> kReservedEvents = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

// Engine.IO v3's ping period is the server's pingInterval, held to this range
// so that a server announcing 0 cannot make a connection spin.
constexpr std::uint32_t kMinPingIntervalMs = 100;
constexpr std::uint32_t kMaxPingIntervalMs = 3'600'000;
constexpr Duration kMinAckInterval = 100ms;
// Server text quoted in a detail (a CONNECT_ERROR message) is cut here.
constexpr std::size_t kMaxQuoted = 200;

// Socket.IO packet types (socket.io-protocol v5).
enum PacketType : int {
  kConnect = 0,
  kDisconnect = 1,
  kEvent = 2,
  kAck = 3,
  kConnectError = 4,
  kBinaryEvent = 5,
  kBinaryAck = 6,
};

// A decoded Socket.IO packet; views into the message it came from.
struct Packet {
  int type = kConnect;
  std::string_view nsp = "/";  // without a v3 query
  std::optional<std::uint64_t> id;
  std::string_view data;  // JSON text, possibly empty
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// `<type>[<attachments>-][<nsp>,][<id>][<json>]`, as socket.io-parser reads
// it. std::nullopt: not a Socket.IO packet.
std::optional<Packet> decodePacket(std::string_view text) {
  if (text.empty() || text[0] < '0' || text[0] > '6') return std::nullopt;
  Packet packet;
  packet.type = text[0] - '0';
  std::size_t at = 1;
  if (packet.type == kBinaryEvent || packet.type == kBinaryAck) {
    const auto dash = text.find('-', at);
    if (dash == std::string_view::npos || dash == at) return std::nullopt;
    if (!std::all_of(text.begin() + static_cast<std::ptrdiff_t>(at),
                     text.begin() + static_cast<std::ptrdiff_t>(dash), isDigit)) {
      return std::nullopt;
    }
    at = dash + 1;
  }
  if (at < text.size() && text[at] == '/') {
    const auto comma = text.find(',', at);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    packet.nsp = text.substr(at, end - at);
    packet.nsp = packet.nsp.substr(0, packet.nsp.find('?'));
    at = comma == std::string_view::npos ? text.size() : comma + 1;
  }
  auto digits_end = at;
  while (digits_end < text.size() && isDigit(text[digits_end])) ++digits_end;
  if (digits_end > at) {
    std::uint64_t id = 0;
    const auto [end, error] = std::from_chars(text.data() + at, text.data() + digits_end, id);
    if (error != std::errc() || end != text.data() + digits_end) return std::nullopt;
    packet.id = id;
    at = digits_end;
  }
  packet.data = text.substr(at);
  return packet;
}

// The value of `name` in the query of `url_path` ("" when absent).
std::string_view queryValue(std::string_view url_path, std::string_view name) {
  const auto question = url_path.find('?');
  if (question == std::string_view::npos) return {};
  auto query = url_path.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string_view sessionString(const SessionSettings& settings, const char* key, std::string_view fallback) {
  const auto found = settings.session.find(key);
  if (found == settings.session.end() || !found->is_string()) return fallback;
  return found->get_ref<const std::string&>();
}

// JSON text that never throws on invalid UTF-8 (it is replaced).
std::string toJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void appendQueryEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
}

// What a CONNECT_ERROR says: `{"message":..}` (v4) or a string (v3).
std::string connectErrorMessage(std::string_view data) {
  const auto payload = nlohmann::json::parse(data, nullptr, false);
  std::string message;
  if (payload.is_string()) {
    message = payload.get<std::string>();
  } else if (payload.is_object() && payload.contains("message") && payload["message"].is_string()) {
    message = payload["message"].get<std::string>();
  }
  if (message.size() > kMaxQuoted) message.resize(kMaxQuoted);
  return message;
}

class SocketIoSession final : public SessionProtocol {
 public:
  explicit SocketIoSession(const SessionSettings& settings) : settings_(settings) {}

  void start(const SessionStart& start, TimePoint, SessionSink&) override {
    idle_ = start.idle;
    v3_ = queryValue(settings_.url_path, "EIO") == "3";
    // Nothing to send: the server speaks first (its open packet).
  }

  void receive(MessageKind kind, std::string_view payload, TimePoint now, SessionSink& sink) override {
    // Binary messages are attachments of a binary packet, counted with it.
    if (state_ == State::ended || kind == MessageKind::binary) return;
    if (payload.empty()) return fail(sink, "empty Engine.IO packet");
    const auto body = payload.substr(1);
    switch (payload[0]) {
      case '0':
        return onOpen(body, now, sink);
      case '1':
        return end(sink, "close", 1000, "Engine.IO close packet");
      case '2':
        return answerPing(body, sink);
      case '3':
        return onPong(body, now, sink);
      case '4':
        return onPacket(body, now, sink);
      case '5':  // upgrade, noop: nothing to do on the websocket transport
      case '6':
        return;
      default:
        return fail(sink, "unknown Engine.IO packet type");
    }
  }

  void tick(TimePoint now, SessionSink& sink) override {
    if (state_ == State::ended) return;
    if (pinging() && now >= ping_due_) sendPing(now, sink);
    if (acking() && now >= ack_due_) sendAck(now, sink);
  }

  std::optional<TimePoint> nextWake() const override {
    std::optional<TimePoint> wake;
    if (pinging()) wake = ping_due_;
    if (acking()) wake = wake ? std::min(*wake, ack_due_) : ack_due_;
    return wake;
  }

 private:
  enum class State : std::uint8_t { awaiting_open, awaiting_connect, ready, ended };

  // v3 pings start with the open packet (its pingInterval), even when a
  // CONNECT came first.
  bool pinging() const { return v3_ && ping_interval_ms_ > 0 && state_ != State::ended; }
  bool acking() const { return ack_timer_ && state_ == State::ready; }
  std::string_view namespaceName() const { return sessionString(settings_, "namespace", "/"); }

  // "/ns," before the id and data of a packet of a namespace other than "/".
  void appendNamespace(std::string& message) const {
    const auto nsp = namespaceName();
    if (nsp == "/") return;
    message += nsp;
    message += ',';
  }

  void onOpen(std::string_view body, TimePoint now, SessionSink& sink) {
    // A second open packet says nothing new; but a v3 server whose CONNECT
    // came first still gives its pingInterval here.
    const bool first = state_ == State::awaiting_open;
    if (!first && !(v3_ && state_ == State::ready && ping_interval_ms_ == 0)) return;
    const auto open = nlohmann::json::parse(body, nullptr, false);
    if (!open.is_object()) return fail(sink, "Engine.IO open packet is not a JSON object");
    if (first) state_ = State::awaiting_connect;
    if (v3_) {
      std::int64_t interval = 25'000;  // Engine.IO's default
      if (const auto found = open.find("pingInterval"); found != open.end() && found->is_number()) {
        interval = found->get<std::int64_t>();
      }
      ping_interval_ms_ = static_cast<std::uint32_t>(
          std::clamp<std::int64_t>(interval, kMinPingIntervalMs, kMaxPingIntervalMs));
      ping_due_ = now + std::chrono::milliseconds(ping_interval_ms_);
    }
    if (first) sendConnect(now, sink);
  }

  // v3 joins the default namespace without being asked.
  bool sendsConnect() const { return !(v3_ && namespaceName() == "/"); }

  void sendConnect(TimePoint now, SessionSink& sink) {
    const auto nsp = namespaceName();
    const auto auth = settings_.session.find("auth");
    const bool has_auth = auth != settings_.session.end() && auth->is_object();
    std::string message = "40";
    if (v3_) {
      // v3: the server joins the default namespace by itself; another one is
      // asked for with the auth as its query.
      if (!sendsConnect()) return;
      message += nsp;
      if (has_auth && !auth->empty()) {
        char separator = '?';
        for (const auto& [key, value] : auth->items()) {
          message += separator;
          separator = '&';
          appendQueryEncoded(message, key);
          message += '=';
          appendQueryEncoded(message,
                             value.is_string() ? value.get_ref<const std::string&>() : toJson(value));
        }
      }
      message += ',';
    } else {
      appendNamespace(message);
      if (has_auth) message += toJson(*auth);
    }
    sink.send(MessageKind::text, message);
    ack_sent_at_ = now;  // the CONNECT's round trip is timed like an ack_event's
  }

  void answerPing(std::string_view body, SessionSink& sink) {
    if (body.empty()) return sink.send(MessageKind::text, "3");
    std::string pong = "3";
    pong += body;
    sink.send(MessageKind::text, pong);
  }

  // v3: the answer to our ping. Pongs of pings given up on come first.
  void onPong(std::string_view body, TimePoint now, SessionSink& sink) {
    if (!v3_ || !body.empty()) return;
    if (pongs_to_skip_ > 0) {
      --pongs_to_skip_;
      return;
    }
    if (!ping_outstanding_) return;
    ping_outstanding_ = false;
    if (state_ == State::ready) sink.appRoundTrip(now - ping_sent_at_);
  }

  void sendPing(TimePoint now, SessionSink& sink) {
    // A ping still unanswered is given up on; its late pong must not be
    // taken for the new one's (pongs come in order).
    if (ping_outstanding_ && pongs_to_skip_ < UINT8_MAX) ++pongs_to_skip_;
    sink.send(MessageKind::text, "2");
    ping_outstanding_ = true;
    ping_sent_at_ = now;
    ping_due_ = now + std::chrono::milliseconds(ping_interval_ms_);
  }

  void onPacket(std::string_view body, TimePoint now, SessionSink& sink) {
    const auto packet = decodePacket(body);
    if (!packet) return fail(sink, "malformed Socket.IO packet");
    if (packet->nsp != namespaceName()) return;  // another namespace's business
    switch (packet->type) {
      case kConnect:
        return onConnect(*packet, now, sink);
      case kDisconnect:
        return end(sink, "disconnect", 1000, "Socket.IO DISCONNECT");
      case kConnectError:
        return end(sink, "connect_error", 1000,
                   "Socket.IO CONNECT_ERROR: " + connectErrorMessage(packet->data));
      case kEvent:
      case kBinaryEvent:
        return onEvent(*packet, sink);
      case kAck:
      case kBinaryAck:
        return onAck(*packet, now, sink);
      default:
        return;
    }
  }

  void onConnect(const Packet& packet, TimePoint now, SessionSink& sink) {
    if (state_ == State::ready) return;
    if (!packet.data.empty() && !nlohmann::json::parse(packet.data, nullptr, false).is_object()) {
      return fail(sink, "Socket.IO CONNECT payload is not a JSON object");
    }
    // Our CONNECT went through the server's namespace middleware and back:
    // the one round trip of the application a default server answers (its
    // Engine.IO pings are the server's to time). Not when a v3 server
    // connected us by itself, nor before its open packet.
    const bool answered = state_ == State::awaiting_connect && sendsConnect();
    state_ = State::ready;
    sink.sessionReady();
    if (answered) sink.appRoundTrip(now - ack_sent_at_);
    if (idle_) return;
    const auto subscribe_event = sessionString(settings_, "subscribe_event", "");
    if (!subscribe_event.empty()) {
      for (const auto& item : settings_.subscribe) {
        std::string message = "42";
        appendNamespace(message);
        message += toJson(nlohmann::json::array({subscribe_event, item}));
        sink.send(MessageKind::text, message);
      }
    }
    if (!sessionString(settings_, "ack_event", "").empty()) {
      ack_timer_ = true;
      sendAck(now, sink);
    }
  }

  void onEvent(const Packet& packet, SessionSink& sink) {
    if (state_ != State::ready) return;
    const auto arguments = nlohmann::json::parse(packet.data, nullptr, false);
    if (!arguments.is_array() || arguments.empty() ||
        !(arguments[0].is_string() || arguments[0].is_number())) {
      return fail(sink, "Socket.IO EVENT payload is not an array that starts with its name");
    }
    if (settings_.subscribe.empty() || !sessionString(settings_, "subscribe_event", "").empty()) {
      return sink.dataMessage();
    }
    if (!arguments[0].is_string()) return;
    const auto& name = arguments[0].get_ref<const std::string&>();
    if (std::find(settings_.subscribe.begin(), settings_.subscribe.end(), name) !=
        settings_.subscribe.end()) {
      sink.dataMessage();
    }
  }

  void onAck(const Packet& packet, TimePoint now, SessionSink& sink) {
    if (!ack_outstanding_ || !packet.id || *packet.id != ack_id_) return;
    ack_outstanding_ = false;
    sink.appRoundTrip(now - ack_sent_at_);
  }

  // Emits the ack event with a new id; an unanswered one is given up on (its
  // late answer carries the old id and is ignored).
  void sendAck(TimePoint now, SessionSink& sink) {
    if (ack_sent_once_) ++ack_id_;
    ack_sent_once_ = true;
    std::string message = "42";
    appendNamespace(message);
    message += std::to_string(ack_id_);
    message += toJson(nlohmann::json::array({sessionString(settings_, "ack_event", "")}));
    sink.send(MessageKind::text, message);
    ack_outstanding_ = true;
    ack_sent_at_ = now;
    ack_due_ = now + std::max(settings_.heartbeat_interval, kMinAckInterval);
  }

  // The session ends: refused before it was ready, ended after.
  void end(SessionSink& sink, std::string_view status, int code, std::string_view detail) {
    const bool was_ready = state_ == State::ready;
    state_ = State::ended;
    if (was_ready) {
      sink.sessionEnded(code, detail);
    } else {
      sink.sessionRefused(status, detail);
    }
  }

  void fail(SessionSink& sink, std::string_view detail) { end(sink, "invalid_packet", 1002, detail); }

  const SessionSettings& settings_;
  TimePoint ping_due_{};                // v3: when our next ping goes
  TimePoint ping_sent_at_{};            // v3: when the unanswered ping went
  TimePoint ack_due_{};                 // when the next ack_event goes
  TimePoint ack_sent_at_{};             // when the unanswered ack_event (or the CONNECT) went
  std::uint32_t ping_interval_ms_ = 0;  // v3: the server's pingInterval, clamped; 0 until open
  std::uint32_t ack_id_ = 0;            // the id of the last ack_event sent
  State state_ = State::awaiting_open;
  std::uint8_t pongs_to_skip_ = 0;  // v3: pongs still to come for pings given up on
  bool v3_ = false;
  bool idle_ = false;
  bool ping_outstanding_ = false;
  bool ack_timer_ = false;  // ack_event configured and this is a heartbeat connection
  bool ack_outstanding_ = false;
  bool ack_sent_once_ = false;
};

std::string checkSessionValue(std::string_view key, const nlohmann::json& value) {
  if (key == "auth") return value.is_object() ? "" : "must be a table (the CONNECT payload)";
  if (!value.is_string()) return "must be a string";
  const auto& text = value.get_ref<const std::string&>();
  if (key == "namespace") {
    if (text.empty() || text.front() != '/') return "must start with \"/\"";
    if (text.find_first_of(",?#") != std::string::npos) return "must not contain ',', '?' or '#'";
    return "";
  }
  if (key == "ack_event" || key == "subscribe_event") {
    if (text.empty()) return "must not be empty";
    if (std::find(kReservedEvents.begin(), kReservedEvents.end(), text) != kReservedEvents.end()) {
      return "is an event name Socket.IO reserves";
    }
    return "";
  }
  return "is not a session key of protocol socketio";
}

}  // namespace

const ProtocolEntry& socketioProtocol() {
  static const ProtocolEntry entry{
      .name = "socketio",
      .session_keys = kSessionKeys,
      .subprotocols = {},
      .takes_subscribe = true,
      .check_session_value = checkSessionValue,
      .make = makeCodec<SocketIoSession>,
  };
  return entry;
}

std::string socketioUpgradePath(std::string_view url_path) {
  url_path = url_path.substr(0, url_path.find('#'));  // never sent
  const auto question = url_path.find('?');
  std::string path(url_path.substr(0, question));
  const std::string_view given =
      question == std::string_view::npos ? std::string_view() : url_path.substr(question + 1);
  // The client's default path, and its trailing slash (the server matches
  // "/socket.io/" as a prefix: "/socket.io?EIO=4" is not its path).
  if (path.empty() || path == "/") path = "/socket.io/";
  if (path.ends_with("/socket.io")) path += '/';
  // The user's parameters in their order; EIO kept as given (3 or 4, the
  // codec reads it), transport always websocket (the client sets it so).
  std::string query;
  bool has_eio = false;
  for (std::string_view rest = given; !rest.empty();) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto name = pair.substr(0, pair.find('='));
    if (pair.empty() || name == "transport") continue;
    has_eio = has_eio || name == "EIO";
    if (!query.empty()) query += '&';
    query += pair;
  }
  if (!has_eio) query += query.empty() ? "EIO=4" : "&EIO=4";
  query += "&transport=websocket";
  return path + "?" + query;
}

std::size_t socketioSessionSize() { return sizeof(SocketIoSession); }

}  // namespace wsprobe
