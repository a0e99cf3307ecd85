#include "probes/protocols/raw_session.h"

namespace wsprobe {

namespace {

class RawSession final : public SessionProtocol {
 public:
  explicit RawSession(const SessionSettings& settings) : settings_(settings) {}

  void start(const SessionStart& start, TimePoint, SessionSink& sink) override {
    sink.sessionReady();
    if (start.idle) return;
    for (const auto& message : settings_.subscribe) sink.send(MessageKind::text, message);
  }
  void receive(MessageKind, std::string_view, TimePoint, SessionSink& sink) override {
    sink.dataMessage();
  }
  void tick(TimePoint, SessionSink&) override {}
  std::optional<TimePoint> nextWake() const override { return std::nullopt; }

 private:
  const SessionSettings& settings_;
};

}  // namespace

const ProtocolEntry& rawProtocol() {
  static const ProtocolEntry entry{
      .name = "raw",
      .session_keys = {},
      .subprotocols = {},
      .takes_subscribe = true,
      .check_session_value = nullptr,
      .make = makeCodec<RawSession>,
  };
  return entry;
}

}  // namespace wsprobe
