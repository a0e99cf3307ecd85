#include "probes/protocols/phoenix_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

#include "probes/protocols/session_duration.h"

namespace wsprobe {

namespace {

using nlohmann::json;

constexpr Duration kDefaultKeepalive = std::chrono::seconds(30);
constexpr std::string_view kParamsKey = "params";
constexpr std::string_view kHeartbeatIntervalKey = "heartbeat_interval";
constexpr std::array<std::string_view, 2> kSessionKeys = {kParamsKey, kHeartbeatIntervalKey};

// One message from the server, whichever serializer carried it.
struct PhoenixMessage {
  std::optional<std::string> join_ref;  // V2 only; absent when null
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  std::string status;  // phx_reply: payload.status
  std::string reason;  // phx_reply: payload.response.reason, when a string
};

// A ref as the server echoes it: a string (as sent), null, or a number from a
// client that sends numbers.
std::optional<std::string> refField(const json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>();
  if (value.is_number_integer()) return value.dump();
  return std::nullopt;
}

void readReplyPayload(const json& payload, PhoenixMessage& message) {
  if (!payload.is_object()) return;
  if (const auto status = payload.find("status"); status != payload.end() && status->is_string()) {
    message.status = status->get_ref<const std::string&>();
  }
  const auto response = payload.find("response");
  if (response == payload.end() || !response->is_object()) return;
  if (const auto reason = response->find("reason"); reason != response->end() && reason->is_string()) {
    message.reason = reason->get_ref<const std::string&>();
  }
}

std::optional<PhoenixMessage> decodeText(std::string_view text) {
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  PhoenixMessage message;
  const json* payload = nullptr;
  if (parsed.is_array() && parsed.size() >= 5) {  // V2
    if (!parsed[2].is_string() || !parsed[3].is_string()) return std::nullopt;
    message.join_ref = refField(parsed[0]);
    message.ref = refField(parsed[1]);
    message.topic = parsed[2].get_ref<const std::string&>();
    message.event = parsed[3].get_ref<const std::string&>();
    payload = &parsed[4];
  } else if (parsed.is_object()) {  // V1
    const auto topic = parsed.find("topic");
    const auto event = parsed.find("event");
    if (topic == parsed.end() || event == parsed.end() || !topic->is_string() || !event->is_string()) {
      return std::nullopt;
    }
    message.topic = topic->get_ref<const std::string&>();
    message.event = event->get_ref<const std::string&>();
    if (const auto ref = parsed.find("ref"); ref != parsed.end()) message.ref = refField(*ref);
    if (const auto join_ref = parsed.find("join_ref"); join_ref != parsed.end()) {
      message.join_ref = refField(*join_ref);
    }
    if (const auto found = parsed.find("payload"); found != parsed.end()) payload = &*found;
  } else {
    return std::nullopt;
  }
  if (payload && message.event == "phx_reply") readReplyPayload(*payload, message);
  return message;
}

// The V2 serializer's binary frames: a kind byte, field sizes, the fields,
// then an opaque payload.
std::optional<PhoenixMessage> decodeBinary(std::string_view bytes) {
  enum Kind : unsigned char { kPush = 0, kReply = 1, kBroadcast = 2 };
  if (bytes.empty()) return std::nullopt;
  const auto size_at = [&](std::size_t index) { return static_cast<unsigned char>(bytes[index]); };
  const auto kind = size_at(0);
  const std::size_t header = kind == kPush ? 4 : kind == kReply ? 5 : kind == kBroadcast ? 3 : 0;
  if (header == 0 || bytes.size() < header) return std::nullopt;
  std::size_t offset = header;
  bool short_frame = false;
  const auto field = [&](std::size_t size) {
    if (offset + size > bytes.size()) {
      short_frame = true;
      return std::string();
    }
    std::string out(bytes.substr(offset, size));
    offset += size;
    return out;
  };
  PhoenixMessage message;
  if (kind == kPush) {
    message.join_ref = field(size_at(1));
    message.topic = field(size_at(2));
    message.event = field(size_at(3));
  } else if (kind == kReply) {
    message.join_ref = field(size_at(1));
    message.ref = field(size_at(2));
    message.topic = field(size_at(3));
    message.status = field(size_at(4));
    message.event = "phx_reply";
  } else {
    message.topic = field(size_at(1));
    message.event = field(size_at(2));
  }
  if (short_frame) return std::nullopt;
  return message;
}

// A ref this client made ("1", "2", ...), or 0 for anything else.
std::uint32_t ownRef(const std::optional<std::string>& ref) {
  if (!ref || ref->empty()) return 0;
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(ref->data(), ref->data() + ref->size(), value);
  return error == std::errc() && end == ref->data() + ref->size() ? value : 0;
}

// A join's refusal reason as a metric status when it is a short token
// ("unauthorized"); free text stays in the detail.
std::string_view refusalStatus(std::string_view reason) {
  const bool token =
      !reason.empty() && reason.size() <= 32 && std::all_of(reason.begin(), reason.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
  return token ? reason : "join_error";
}

// V1 unless the URL's query asks for another version (the server's rule).
bool usesV2(std::string_view url_path) {
  const auto query_start = url_path.find('?');
  if (query_start == std::string_view::npos) return false;
  std::string_view query = url_path.substr(query_start + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("vsn=")) return pair.substr(4).starts_with("2.");
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

Duration keepaliveOf(const SessionSettings& settings) {
  const auto found = settings.session.find(kHeartbeatIntervalKey);
  if (found == settings.session.end() || !found->is_string()) return kDefaultKeepalive;
  return parseSessionDuration(found->get_ref<const std::string&>()).value_or(kDefaultKeepalive);
}

class PhoenixSession final : public SessionProtocol {
 public:
  explicit PhoenixSession(const SessionSettings& settings)
      : settings_(settings), v2_(usesV2(settings.url_path)), keepalive_(keepaliveOf(settings)) {}

  void start(const SessionStart& start, TimePoint now, SessionSink& sink) override {
    interval_ = start.idle ? keepalive_ : std::min(keepalive_, settings_.heartbeat_interval);
    next_heartbeat_ = now + interval_;
    if (start.idle || settings_.subscribe.empty()) {
      state_ = State::ready;
      sink.sessionReady();
      return;
    }
    state_ = State::joining;
    static const json kEmptyParams = json::object();
    const auto params = settings_.session.find(kParamsKey);
    const json& payload = params != settings_.session.end() && params->is_object() ? *params : kEmptyParams;
    topic_states_.assign(settings_.subscribe.size(), TopicState::joining);
    for (const auto& topic : settings_.subscribe) {
      const std::string ref = std::to_string(++last_ref_);
      send(sink, ref, ref, topic, "phx_join", payload);
    }
  }

  void receive(MessageKind kind, std::string_view payload, TimePoint now, SessionSink& sink) override {
    if (state_ == State::finished) return;
    const auto message = kind == MessageKind::binary ? decodeBinary(payload) : decodeText(payload);
    if (!message) {
      fail(sink, 1002, "protocol_error", "not a Phoenix message");
      return;
    }
    if (message->event == "phx_reply") {
      onReply(*message, now, sink);
      return;
    }
    const auto topic = topicIndex(*message);
    if (!topic) return;
    if (message->event == "phx_error" || message->event == "phx_close") {
      fail(sink, 1000, "join_error", message->event + " on topic " + message->topic);
      return;
    }
    if (topic_states_[*topic] == TopicState::joined) sink.dataMessage();
  }

  void tick(TimePoint now, SessionSink& sink) override {
    if (state_ == State::finished) return;
    if (heartbeat_ref_ != 0) {
      if (now >= heartbeat_sent_ + keepalive_) {
        fail(sink, 1000, "heartbeat_timeout",
             "heartbeat timeout: no phx_reply within the keepalive interval");
      }
      return;
    }
    if (now < next_heartbeat_) return;
    heartbeat_ref_ = ++last_ref_;
    heartbeat_sent_ = now;
    next_heartbeat_ = now + interval_;
    static const json kEmpty = json::object();
    send(sink, std::nullopt, std::to_string(heartbeat_ref_), "phoenix", "heartbeat", kEmpty);
  }

  std::optional<TimePoint> nextWake() const override {
    if (state_ == State::finished) return std::nullopt;
    if (heartbeat_ref_ != 0) return heartbeat_sent_ + keepalive_;
    return next_heartbeat_;
  }

 private:
  enum class State : std::uint8_t { joining, ready, finished };
  enum class TopicState : std::uint8_t { joining, joined };

  void send(SessionSink& sink, const std::optional<std::string>& join_ref, const std::string& ref,
            std::string_view topic, std::string_view event, const json& payload) {
    const json join_ref_value = join_ref ? json(*join_ref) : json(nullptr);
    json message;
    if (v2_) {
      message = json::array({join_ref_value, ref, topic, event, payload});
    } else {
      message = {{"topic", topic}, {"event", event}, {"payload", payload}, {"ref", ref}};
      if (join_ref) message["join_ref"] = *join_ref;
    }
    sink.send(MessageKind::text, message.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  void onReply(const PhoenixMessage& message, TimePoint now, SessionSink& sink) {
    const std::uint32_t ref = ownRef(message.ref);
    if (ref == 0) return;
    if (ref == heartbeat_ref_ && message.topic == "phoenix") {
      heartbeat_ref_ = 0;
      sink.appRoundTrip(now - heartbeat_sent_);
      return;
    }
    // Joins took refs 1..n in the order of `subscribe`.
    if (ref > topic_states_.size() || settings_.subscribe[ref - 1] != message.topic) return;
    auto& topic_state = topic_states_[ref - 1];
    // A reply without a status answers nothing this client can read.
    if (topic_state != TopicState::joining || message.status.empty()) return;
    if (message.status == "ok") {
      topic_state = TopicState::joined;
      if (state_ == State::joining) {
        state_ = State::ready;
        sink.sessionReady();
      }
      return;
    }
    const std::string_view status = refusalStatus(message.reason);
    std::string detail = "join of " + message.topic + " refused: " + message.status;
    if (!message.reason.empty()) detail += " (" + message.reason + ")";
    fail(sink, 1000, status, detail);
  }

  // The index in `subscribe` of the topic this message belongs to, when this
  // client joined or is joining it (and, in V2, for the current join).
  std::optional<std::size_t> topicIndex(const PhoenixMessage& message) const {
    for (std::size_t i = 0; i < topic_states_.size(); ++i) {
      if (settings_.subscribe[i] != message.topic) continue;
      if (message.join_ref && ownRef(message.join_ref) != i + 1) return std::nullopt;
      return i;
    }
    return std::nullopt;
  }

  // Refused before the session was ready, ended after.
  void fail(SessionSink& sink, int code, std::string_view status, std::string_view detail) {
    const bool was_ready = state_ == State::ready;
    state_ = State::finished;
    if (was_ready) {
      sink.sessionEnded(code, detail);
    } else {
      sink.sessionRefused(status, detail);
    }
  }

  const SessionSettings& settings_;
  const bool v2_;
  State state_ = State::joining;
  std::uint32_t last_ref_ = 0;
  std::uint32_t heartbeat_ref_ = 0;  // the heartbeat in flight; 0: none
  const Duration keepalive_;
  Duration interval_{};
  TimePoint next_heartbeat_{};
  TimePoint heartbeat_sent_{};
  std::vector<TopicState> topic_states_;  // per `subscribe` entry; empty when none joined
};

std::string checkSessionValue(std::string_view key, const json& value) {
  if (key == kParamsKey) return value.is_object() ? "" : "must be a table (the phx_join payload)";
  if (key == kHeartbeatIntervalKey) {
    if (value.is_string() && parseSessionDuration(value.get_ref<const std::string&>())) return "";
    return "must be a duration such as \"30s\"";
  }
  return "is not a phoenix session key";
}

}  // namespace

const ProtocolEntry& phoenixProtocol() {
  static const ProtocolEntry entry{
      .name = "phoenix",
      .session_keys = kSessionKeys,
      .subprotocols = {},
      .takes_subscribe = true,
      .check_session_value = checkSessionValue,
      .make = makeCodec<PhoenixSession>,
  };
  return entry;
}

}  // namespace wsprobe
