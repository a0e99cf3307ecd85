#include "probes/protocols/actioncable_session.h"

#include <array>
#include <cstdint>
#include <string>

namespace wsprobe {

namespace {

// The official client reopens when the last ping is more than 6 s old
// (ConnectionMonitor.staleThreshold, two 3 s beats) at a check every 3 s
// (pollInterval.min): 9 s is the latest it can take.
constexpr Duration kPingsStopAfter = std::chrono::seconds(9);

// The identifier of one `subscribe` item: a JSON object text as written, or
// {"channel":<item>} for a channel name (JSON.stringify({channel}) in the
// official client; nlohmann writes it byte for byte the same).
std::string channelIdentifier(const std::string& item) {
  if (!item.empty() && item.front() == '{') {
    const auto parsed = nlohmann::json::parse(item, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) return item;
  }
  return nlohmann::json{{"channel", item}}.dump();
}

std::string stringField(const nlohmann::json& message, const char* key) {
  const auto found = message.find(key);
  return found != message.end() && found->is_string() ? found->get<std::string>() : std::string();
}

class ActionCableSession final : public SessionProtocol {
 public:
  explicit ActionCableSession(const SessionSettings& settings) : settings_(settings) {}

  void start(const SessionStart& start, TimePoint now, SessionSink& sink) override {
    idle_ = start.idle;
    last_ping_ = now;
    if (start.subprotocol == "actioncable-unsupported") {
      sink.sessionRefused("unsupported_protocol",
                          "the server picked actioncable-unsupported: it speaks no protocol version this "
                          "client knows");
      state_ = State::finished;
    }
  }

  void receive(MessageKind, std::string_view payload, TimePoint now, SessionSink& sink) override {
    if (state_ == State::finished) return;
    const auto message = nlohmann::json::parse(payload, nullptr, false);
    if (message.is_discarded() || !message.is_object()) return;
    const auto type = stringField(message, "type");
    if (type == "welcome") {
      last_ping_ = now;
      if (state_ == State::connecting) {
        state_ = State::ready;
        sink.sessionReady();
        if (!idle_) subscribe(now, sink);
      }
    } else if (type == "ping") {
      last_ping_ = now;
    } else if (type == "disconnect") {
      disconnect(message, sink);
    } else if (state_ != State::ready) {
      return;
    } else if (type == "confirm_subscription") {
      if (awaiting_confirmation_ > 0 && isOurs(stringField(message, "identifier"))) {
        --awaiting_confirmation_;
        sink.appRoundTrip(now - subscribed_at_);
      }
    } else if (type == "reject_subscription") {
      sink.sessionEnded(1000, "subscription rejected: " + stringField(message, "identifier"));
      state_ = State::finished;
    } else if (type.empty() && message.contains("identifier") && message.contains("message")) {
      sink.dataMessage();
    }
  }

  void tick(TimePoint now, SessionSink& sink) override {
    if (state_ != State::ready || now < last_ping_ + kPingsStopAfter) return;
    sink.sessionEnded(1000, "no ActionCable ping for 9 s (the server beats every 3 s)");
    state_ = State::finished;
  }

  std::optional<TimePoint> nextWake() const override {
    if (state_ != State::ready) return std::nullopt;
    return last_ping_ + kPingsStopAfter;
  }

 private:
  enum class State : std::uint8_t { connecting, ready, finished };

  void subscribe(TimePoint now, SessionSink& sink) {
    subscribed_at_ = now;
    for (const auto& item : settings_.subscribe) {
      const nlohmann::json command{{"command", "subscribe"}, {"identifier", channelIdentifier(item)}};
      sink.send(MessageKind::text, command.dump());
      if (awaiting_confirmation_ < UINT16_MAX) ++awaiting_confirmation_;
    }
  }

  bool isOurs(const std::string& identifier) const {
    for (const auto& item : settings_.subscribe) {
      if (channelIdentifier(item) == identifier) return true;
    }
    return false;
  }

  void disconnect(const nlohmann::json& message, SessionSink& sink) {
    const auto reason = stringField(message, "reason");
    const auto reconnect = message.find("reconnect");
    std::string detail = "server disconnect: " + (reason.empty() ? std::string("no reason") : reason);
    if (reconnect != message.end() && reconnect->is_boolean()) {
      detail += reconnect->get<bool>() ? " (reconnect)" : " (no reconnect)";
    }
    if (state_ == State::connecting) {
      // The status is a label value: the server's reason when it is one of
      // the protocol's few words, not whatever text it sent.
      const bool known = reason == "unauthorized" || reason == "invalid_request" ||
                         reason == "server_restart" || reason == "remote";
      sink.sessionRefused(known ? reason : "disconnect", detail);
    } else {
      sink.sessionEnded(1000, detail);
    }
    state_ = State::finished;
  }

  const SessionSettings& settings_;
  TimePoint last_ping_{};                    // the last ping, or the welcome, or the upgrade
  TimePoint subscribed_at_{};                // when the subscribe commands went out
  std::uint16_t awaiting_confirmation_ = 0;  // subscriptions not confirmed yet
  State state_ = State::connecting;
  bool idle_ = false;
};

static_assert(sizeof(ActionCableSession) <= 48, "one codec per held connection: keep it small");

constexpr std::array<std::string_view, 2> kSubprotocols = {"actioncable-v1-json", "actioncable-unsupported"};

}  // namespace

const ProtocolEntry& actionCableProtocol() {
  static const ProtocolEntry entry{
      .name = "actioncable",
      .session_keys = {},
      .subprotocols = kSubprotocols,
      .takes_subscribe = true,
      .check_session_value = nullptr,
      .make = makeCodec<ActionCableSession>,
  };
  return entry;
}

}  // namespace wsprobe
