#include "probes/protocols/graphql_ws_session.h"

#include <array>
#include <cstdint>
#include <string>

namespace wsprobe {

namespace {

using nlohmann::json;

// Deeper input is cut while parsing (the parser itself does not recurse), so
// a hostile message cannot make an unbounded tree.
constexpr int kMaxJsonDepth = 32;
// How long one unanswered ping blocks the next, in heartbeat intervals.
constexpr int kPingGiveUpIntervals = 3;
// Details go to logs: keep them short.
constexpr std::size_t kMaxDetail = 200;

json parseMessage(std::string_view payload) {
  return json::parse(
      payload.begin(), payload.end(),
      [](int depth, json::parse_event_t, json &) {
        return depth <= kMaxJsonDepth;
      },
      /*allow_exceptions=*/false);
}

std::string serialize(const json &message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string shortened(std::string text) {
  if (text.size() > kMaxDetail)
    text.resize(kMaxDetail);
  return text;
}

// What the server said about an error: payload.message when there is one,
// else the payload itself.
std::string errorDetail(const json &message) {
  const auto payload = message.find("payload");
  if (payload == message.end())
    return "";
  if (payload->is_object()) {
    const auto text = payload->find("message");
    if (text != payload->end() && text->is_string())
      return shortened(text->get<std::string>());
  }
  return shortened(serialize(*payload));
}

class GraphqlWsSession final : public SessionProtocol {
public:
  explicit GraphqlWsSession(const SessionSettings &settings)
      : settings_(settings) {}

  void start(const SessionStart &start, TimePoint, SessionSink &sink) override {
    legacy_ = start.subprotocol == "graphql-ws";
    idle_ = start.idle;
    json init = {{"type", "connection_init"}};
    const auto payload = settings_.session.find("payload");
    if (payload != settings_.session.end()) {
      init["payload"] = *payload;
    } else if (legacy_) {
      init["payload"] =
          json::object(); // subscriptions-transport-ws' client default
    }
    sink.send(MessageKind::text, serialize(init));
  }

  void receive(MessageKind, std::string_view payload, TimePoint now,
               SessionSink &sink) override {
    if (state_ == State::ended)
      return;
    const json message = parseMessage(payload);
    if (!message.is_object()) {
      fail(sink, "malformed", "not a JSON object");
      return;
    }
    const auto type = message.find("type");
    if (type == message.end() || !type->is_string()) {
      fail(sink, "malformed", "no string type");
      return;
    }
    const auto &name = type->get_ref<const std::string &>();
    if (legacy_) {
      receiveLegacy(name, message, now, sink);
    } else {
      receiveTransport(name, message, now, sink);
    }
  }

  void tick(TimePoint now, SessionSink &sink) override {
    if (!heartbeating() || now < next_ping_)
      return;
    const Duration interval = settings_.heartbeat_interval;
    next_ping_ = now + interval;
    if (ping_in_flight_ && now - ping_sent_ < kPingGiveUpIntervals * interval)
      return;
    sink.send(MessageKind::text, R"({"type":"ping"})");
    ping_sent_ = now;
    ping_in_flight_ = true;
  }

  std::optional<TimePoint> nextWake() const override {
    if (!heartbeating())
      return std::nullopt;
    return next_ping_;
  }

private:
  enum class State : std::uint8_t { awaiting_ack, ready, ended };

  // graphql-transport-ws pings on heartbeat connections once ready.
  bool heartbeating() const {
    return state_ == State::ready && !legacy_ && !idle_ &&
           settings_.heartbeat_interval > Duration::zero();
  }

  void becomeReady(TimePoint now, SessionSink &sink) {
    state_ = State::ready;
    sink.sessionReady();
    if (idle_)
      return;
    next_ping_ = now + settings_.heartbeat_interval;
    int id = 0;
    const auto variables = settings_.session.find("variables");
    for (const auto &query : settings_.subscribe) {
      json operation = {{"query", query}};
      if (variables != settings_.session.end())
        operation["variables"] = *variables;
      const json subscribe = {{"id", std::to_string(++id)},
                              {"type", legacy_ ? "start" : "subscribe"},
                              {"payload", std::move(operation)}};
      sink.send(MessageKind::text, serialize(subscribe));
    }
  }

  // A message the protocol does not allow here: the official clients close.
  void fail(SessionSink &sink, std::string_view status,
            const std::string &detail) {
    if (state_ == State::awaiting_ack) {
      sink.sessionRefused(status, detail);
    } else {
      sink.sessionEnded(1002, detail);
    }
    state_ = State::ended;
  }

  void receiveTransport(const std::string &type, const json &message,
                        TimePoint now, SessionSink &sink) {
    if (type == "ping") {
      json pong = {{"type", "pong"}};
      const auto payload = message.find("payload");
      if (payload != message.end() && !payload->is_null())
        pong["payload"] = *payload;
      sink.send(MessageKind::text, serialize(pong));
      return;
    }
    if (type == "pong") {
      if (ping_in_flight_) {
        ping_in_flight_ = false;
        sink.appRoundTrip(now - ping_sent_);
      }
      return;
    }
    if (state_ == State::awaiting_ack) {
      if (type == "connection_ack") {
        becomeReady(now, sink);
      } else {
        fail(sink, "unexpected_message",
             shortened("first message was of type " + type));
      }
      return;
    }
    if (type == "next") {
      sink.dataMessage();
      return;
    }
    // An operation's error or completion ends that operation only; the
    // other types are the protocol's own and mean nothing to a client here.
    static constexpr std::array<std::string_view, 5> kKnown = {
        "error", "complete", "connection_ack", "connection_init", "subscribe"};
    for (const auto known : kKnown) {
      if (type == known)
        return;
    }
    fail(sink, "unexpected_message", shortened("unknown message type " + type));
  }

  void receiveLegacy(const std::string &type, const json &message,
                     TimePoint now, SessionSink &sink) {
    if (type == "ka")
      return;
    if (state_ == State::awaiting_ack) {
      if (type == "connection_ack") {
        becomeReady(now, sink);
      } else if (type == "connection_error") {
        fail(sink, "connection_error", errorDetail(message));
      } else {
        fail(sink, "unexpected_message",
             shortened("first message was of type " + type));
      }
      return;
    }
    if (type == "data") {
      sink.dataMessage();
      return;
    }
    // connection_error after the ack: the server could not parse a message
    // and keeps the connection.
    static constexpr std::array<std::string_view, 4> kKnown = {
        "error", "complete", "connection_ack", "connection_error"};
    for (const auto known : kKnown) {
      if (type == known)
        return;
    }
    fail(sink, "unexpected_message", shortened("unknown message type " + type));
  }

  const SessionSettings &settings_;
  TimePoint next_ping_{}; // when the next ping is due (heartbeating() only)
  TimePoint
      ping_sent_{}; // when the ping in flight went out (ping_in_flight_ only)
  State state_ = State::awaiting_ack;
  bool legacy_ =
      false; // the server picked `graphql-ws` (subscriptions-transport-ws)
  bool idle_ = false;
  bool ping_in_flight_ = false;
};

// Memory budget: 1 KB per connection over raw; this is what a codec costs.
static_assert(sizeof(GraphqlWsSession) <= 48);

constexpr std::array<std::string_view, 2> kSessionKeys = {"payload",
                                                          "variables"};
// Legacy first: a subscriptions-transport-ws server set up as its README says
// takes the first subprotocol offered (ws' default) and closes with 1002 on
// any but its own, while the graphql-ws library picks graphql-transport-ws
// wherever it is in the list.
constexpr std::array<std::string_view, 2> kSubprotocols = {
    "graphql-ws", "graphql-transport-ws"};

std::string checkSessionValue(std::string_view key, const json &value) {
  if ((key == "payload" || key == "variables") && !value.is_object()) {
    return std::string(key) + " must be a table";
  }
  return "";
}

} // namespace

const ProtocolEntry &graphqlWsProtocol() {
  static const ProtocolEntry entry{
      .name = "graphql-ws",
      .session_keys = kSessionKeys,
      .subprotocols = kSubprotocols,
      .takes_subscribe = true,
      .check_session_value = checkSessionValue,
      .make = makeCodec<GraphqlWsSession>,
  };
  return entry;
}

} // namespace wsprobe
