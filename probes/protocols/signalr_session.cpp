#include "probes/protocols/signalr_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

#include "probes/protocols/session_duration.h"

namespace wsprobe {

namespace {

using nlohmann::json;

constexpr char kRecordSeparator = '\x1e';
constexpr Duration kDefaultKeepalive = std::chrono::seconds(15);
constexpr Duration kDefaultServerTimeout = std::chrono::seconds(30);
// A record cut at a message boundary waits for the rest up to this size; a
// server that sends more without a separator is not speaking the protocol.
constexpr std::size_t kMaxPartialRecord = 1 << 20;

constexpr std::string_view kInvokeKey = "invoke";
constexpr std::string_view kInvokeArgumentsKey = "invoke_arguments";
constexpr std::string_view kSubscribeModeKey = "subscribe_mode";
constexpr std::string_view kSubscribeArgumentsKey = "subscribe_arguments";
constexpr std::string_view kKeepaliveKey = "keepalive_interval";
constexpr std::string_view kServerTimeoutKey = "server_timeout";
constexpr std::array<std::string_view, 6> kSessionKeys = {kInvokeKey,        kInvokeArgumentsKey,
                                                          kSubscribeModeKey, kSubscribeArgumentsKey,
                                                          kKeepaliveKey,     kServerTimeoutKey};

// HubProtocol.md, "JSON Encoding": the `type` of each message.
enum MessageType : std::int64_t {
  kInvocation = 1,
  kStreamItem = 2,
  kCompletion = 3,
  kStreamInvocation = 4,
  kPing = 6,
  kClose = 7,
};

const json* sessionValue(const SessionSettings& settings, std::string_view key) {
  const auto found = settings.session.find(key);
  return found == settings.session.end() ? nullptr : &*found;
}

Duration durationOf(const SessionSettings& settings, std::string_view key, Duration fallback) {
  const json* value = sessionValue(settings, key);
  if (!value || !value->is_string()) return fallback;
  return parseSessionDuration(value->get_ref<const std::string&>()).value_or(fallback);
}

const json& argumentsOf(const SessionSettings& settings, std::string_view key) {
  static const json kNoArguments = json::array();
  const json* value = sessionValue(settings, key);
  return value && value->is_array() ? *value : kNoArguments;
}

// The message's `type`, or 0 when it has none that a type could be (the
// JavaScript client ignores messages of types it does not know).
std::int64_t typeOf(const json& message) {
  const auto type = message.find("type");
  if (type == message.end()) return 0;
  if (type->is_number_integer()) return type->get<std::int64_t>();
  if (type->is_number_float()) {
    const double value = type->get<double>();
    if (value >= 0 && value <= 100 && value == static_cast<double>(static_cast<std::int64_t>(value))) {
      return static_cast<std::int64_t>(value);
    }
  }
  return 0;
}

std::string stringField(const json& message, std::string_view key) {
  const auto found = message.find(key);
  return found != message.end() && found->is_string() ? found->get_ref<const std::string&>() : std::string();
}

// An invocation id this client made ("0", "1", ...).
std::optional<std::uint32_t> ownId(const json& message) {
  const auto found = message.find("invocationId");
  if (found == message.end() || !found->is_string()) return std::nullopt;
  const auto& id = found->get_ref<const std::string&>();
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (id.empty() || error != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return value;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

class SignalrSession final : public SessionProtocol {
 public:
  explicit SignalrSession(const SessionSettings& settings)
      : settings_(settings),
        keepalive_(durationOf(settings, kKeepaliveKey, kDefaultKeepalive)),
        server_timeout_(durationOf(settings, kServerTimeoutKey, kDefaultServerTimeout)) {
    const json* mode = sessionValue(settings, kSubscribeModeKey);
    invocations_mode_ = mode && mode->is_string() && mode->get_ref<const std::string&>() == "invocations";
    const json* invoke = sessionValue(settings, kInvokeKey);
    if (invoke && invoke->is_string() && !invoke->get_ref<const std::string&>().empty()) {
      invoke_target_ = &invoke->get_ref<const std::string&>();
    }
  }

  void start(const SessionStart& start, TimePoint now, SessionSink& sink) override {
    idle_ = start.idle;
    last_received_ = now;
    sendRecord(sink, now, R"({"protocol":"json","version":1})");
  }

  void receive(MessageKind, std::string_view payload, TimePoint now, SessionSink& sink) override {
    if (state_ == State::finished) return;
    last_received_ = now;
    std::string joined;
    std::string_view data = payload;
    if (!partial_.empty()) {
      joined = std::move(partial_);
      partial_ = std::string();
      joined.append(payload);
      data = joined;
    }
    while (!data.empty() && state_ != State::finished) {
      const auto end = data.find(kRecordSeparator);
      if (end == std::string_view::npos) {
        if (data.size() > kMaxPartialRecord) {
          fail(sink, 1002, "protocol_error", "a record longer than 1 MiB without a separator");
        } else {
          partial_.assign(data);
        }
        return;
      }
      const std::string_view record = data.substr(0, end);
      data.remove_prefix(end + 1);
      if (!record.empty()) handleRecord(record, now, sink);
    }
  }

  void tick(TimePoint now, SessionSink& sink) override {
    if (state_ == State::finished) return;
    if (now >= last_received_ + server_timeout_) {
      fail(sink, 1000, "server_timeout", "server timeout: nothing received within server_timeout");
      return;
    }
    if (state_ != State::ready) return;
    if (invoking() && now >= next_invoke_) {
      pending_invoke_ = next_id_++;
      invoke_sent_ = now;
      next_invoke_ = now + settings_.heartbeat_interval;
      const json invocation = {{"type", kInvocation},
                               {"invocationId", std::to_string(pending_invoke_)},
                               {"target", *invoke_target_},
                               {"arguments", argumentsOf(settings_, kInvokeArgumentsKey)}};
      sendJson(sink, now, invocation);
    }
    if (now >= last_sent_ + keepalive_) sendRecord(sink, now, R"({"type":6})");
  }

  std::optional<TimePoint> nextWake() const override {
    if (state_ == State::finished) return std::nullopt;
    TimePoint wake = last_received_ + server_timeout_;
    if (state_ == State::ready) {
      wake = std::min(wake, last_sent_ + keepalive_);
      if (invoking()) wake = std::min(wake, next_invoke_);
    }
    return wake;
  }

 private:
  enum class State : std::uint8_t { handshaking, ready, finished };
  static constexpr std::uint32_t kNoInvocation = std::numeric_limits<std::uint32_t>::max();

  bool invoking() const { return invoke_target_ && !idle_; }

  void sendRecord(SessionSink& sink, TimePoint now, std::string_view record) {
    std::string message(record);
    message.push_back(kRecordSeparator);
    sink.send(MessageKind::text, message);
    last_sent_ = now;
  }

  void sendJson(SessionSink& sink, TimePoint now, const json& message) {
    sendRecord(sink, now, message.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  void handleRecord(std::string_view record, TimePoint now, SessionSink& sink) {
    const json message = json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (!message.is_object()) {
      fail(sink, 1002, "protocol_error", "a record that is not a JSON object");
      return;
    }
    if (state_ == State::handshaking) {
      onHandshakeResponse(message, now, sink);
      return;
    }
    switch (typeOf(message)) {
      case kInvocation:
        onInvocation(message, now, sink);
        break;
      case kStreamItem:
        if (const auto id = ownId(message); id && *id < stream_count_) sink.dataMessage();
        break;
      case kCompletion:
        onCompletion(message, now, sink);
        break;
      case kClose:
        fail(sink, 1000, "close", closeDetail(message));
        break;
      default:  // Ping, Ack, Sequence, and types a newer server may add
        break;
    }
  }

  void onHandshakeResponse(const json& message, TimePoint now, SessionSink& sink) {
    if (message.contains("type")) {
      if (typeOf(message) == kClose) {
        fail(sink, 0, "close", closeDetail(message));
      } else {
        fail(sink, 0, "protocol_error", "a hub message before the handshake response");
      }
      return;
    }
    if (const auto error = message.find("error"); error != message.end()) {
      fail(sink, 0, "handshake_error",
           "handshake refused: " + (error->is_string()
                                        ? error->get_ref<const std::string&>()
                                        : error->dump(-1, ' ', false, json::error_handler_t::replace)));
      return;
    }
    state_ = State::ready;
    sink.sessionReady();
    sendRecord(sink, now, R"({"type":6})");
    next_invoke_ = now + settings_.heartbeat_interval;
    if (idle_ || invocations_mode_) return;
    const json& arguments = argumentsOf(settings_, kSubscribeArgumentsKey);
    for (const auto& target : settings_.subscribe) {
      const json invocation = {{"type", kStreamInvocation},
                               {"invocationId", std::to_string(next_id_++)},
                               {"target", target},
                               {"arguments", arguments}};
      sendJson(sink, now, invocation);
    }
    stream_count_ = next_id_;
  }

  void onInvocation(const json& message, TimePoint now, SessionSink& sink) {
    if (invocations_mode_ && !idle_) {
      const std::string target = stringField(message, "target");
      const auto& subscribed = settings_.subscribe;
      if (std::any_of(subscribed.begin(), subscribed.end(),
                      [&](const std::string& name) { return equalsIgnoringCase(name, target); })) {
        sink.dataMessage();
      }
    }
    const auto id = message.find("invocationId");
    if (id == message.end() || !id->is_string()) return;
    const json completion = {
        {"type", kCompletion}, {"invocationId", *id}, {"error", "Client didn't provide a result."}};
    sendJson(sink, now, completion);
  }

  void onCompletion(const json& message, TimePoint now, SessionSink& sink) {
    const auto id = ownId(message);
    if (!id) return;
    if (*id == pending_invoke_) {
      pending_invoke_ = kNoInvocation;
      sink.appRoundTrip(now - invoke_sent_);
      return;
    }
    if (*id >= stream_count_) return;
    std::string detail = "stream " + settings_.subscribe[*id] + " completed";
    if (const std::string error = stringField(message, "error"); !error.empty()) detail += ": " + error;
    fail(sink, 1000, "stream_completed", detail);
  }

  static std::string closeDetail(const json& message) {
    std::string detail = "close message from the server";
    if (const std::string error = stringField(message, "error"); !error.empty()) detail += ": " + error;
    const auto reconnect = message.find("allowReconnect");
    if (reconnect != message.end() && reconnect->is_boolean()) {
      detail += reconnect->get<bool>() ? " (reconnect allowed)" : " (reconnect not allowed)";
    }
    return detail;
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
  const Duration keepalive_;
  const Duration server_timeout_;
  const std::string* invoke_target_ = nullptr;  // in settings_.session; null: no app RTT
  bool invocations_mode_ = false;
  bool idle_ = false;
  State state_ = State::handshaking;
  std::uint32_t next_id_ = 0;
  std::uint32_t stream_count_ = 0;  // ids 0..stream_count_-1 are our streams
  std::uint32_t pending_invoke_ = kNoInvocation;
  TimePoint last_sent_{};
  TimePoint last_received_{};
  TimePoint next_invoke_{};
  TimePoint invoke_sent_{};
  std::string partial_;  // a record cut at a message boundary
};

std::string checkDuration(const json& value) {
  if (value.is_string() && parseSessionDuration(value.get_ref<const std::string&>())) return "";
  return "must be a duration such as \"15s\"";
}

std::string checkSessionValue(std::string_view key, const json& value) {
  if (key == kInvokeKey) {
    return value.is_string() && !value.get_ref<const std::string&>().empty() ? ""
                                                                             : "must be a hub method name";
  }
  if (key == kInvokeArgumentsKey || key == kSubscribeArgumentsKey) {
    return value.is_array() ? "" : "must be an array (the method's arguments)";
  }
  if (key == kSubscribeModeKey) {
    const bool known = value.is_string() && (value.get_ref<const std::string&>() == "stream" ||
                                             value.get_ref<const std::string&>() == "invocations");
    return known ? "" : "must be \"stream\" or \"invocations\"";
  }
  if (key == kKeepaliveKey || key == kServerTimeoutKey) return checkDuration(value);
  return "is not a signalr session key";
}

}  // namespace

const ProtocolEntry& signalrProtocol() {
  static const ProtocolEntry entry{
      .name = "signalr",
      .session_keys = kSessionKeys,
      .subprotocols = {},
      .takes_subscribe = true,
      .check_session_value = checkSessionValue,
      .make = makeCodec<SignalrSession>,
  };
  return entry;
}

}  // namespace wsprobe
