#include "probes/protocols/sockjs_session.h"

#include <string>

namespace wsprobe {

namespace {

class SockJsSession final : public SessionProtocol {
 public:
  explicit SockJsSession(const SessionSettings& settings) : settings_(settings) {}

  void start(const SessionStart& start, TimePoint, SessionSink&) override {
    idle_ = start.idle;
    // Nothing to send: the server opens with `o`.
  }

  void receive(MessageKind kind, std::string_view payload, TimePoint, SessionSink& sink) override {
    if (ended_ || kind == MessageKind::binary || payload.empty()) return;
    const auto body = payload.substr(1);
    switch (payload[0]) {
      case 'o':
        return onOpen(sink);
      case 'h':
        return;
      case 'a':
        return onMessages(body, sink);
      case 'm':
        return onMessage(body, sink);
      case 'c':
        return onClose(body, sink);
      default:
        return;  // sockjs-client ignores unknown frames
    }
  }

  void tick(TimePoint, SessionSink&) override {}
  std::optional<TimePoint> nextWake() const override { return std::nullopt; }

 private:
  void onOpen(SessionSink& sink) {
    if (ready_) return;
    ready_ = true;
    sink.sessionReady();
    if (idle_) return;
    for (const auto& item : settings_.subscribe) {
      sink.send(MessageKind::text,
                nlohmann::json::array({item}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }

  void onMessages(std::string_view body, SessionSink& sink) {
    if (!ready_) return;
    const auto messages = nlohmann::json::parse(body, nullptr, false);
    if (!messages.is_array()) return;
    for (std::size_t i = 0; i < messages.size(); ++i) sink.dataMessage();
  }

  void onMessage(std::string_view body, SessionSink& sink) {
    if (!ready_ || nlohmann::json::parse(body, nullptr, false).is_discarded()) return;
    sink.dataMessage();
  }

  void onClose(std::string_view body, SessionSink& sink) {
    const auto frame = nlohmann::json::parse(body, nullptr, false);
    if (!frame.is_array() || frame.size() != 2 || !frame[0].is_number_integer()) return;
    const auto code = frame[0].get<std::int64_t>();
    std::string detail = "SockJS close " + std::to_string(code);
    if (frame[1].is_string()) {
      auto reason = frame[1].get<std::string>();
      if (reason.size() > 200) reason.resize(200);
      detail += " \"" + reason + "\"";
    }
    ended_ = true;
    if (!ready_) return sink.sessionRefused(std::to_string(code), detail);
    const bool sendable = code == 1000 || (code >= 3000 && code <= 4999);
    sink.sessionEnded(sendable ? static_cast<int>(code) : 1000, detail);
  }

  const SessionSettings& settings_;
  bool idle_ = false;
  bool ready_ = false;  // `o` came
  bool ended_ = false;  // `c` came: nothing more counts
};

}  // namespace

const ProtocolEntry& sockjsProtocol() {
  static const ProtocolEntry entry{
      .name = "sockjs",
      .session_keys = {},
      .subprotocols = {},
      .takes_subscribe = true,
      .check_session_value = nullptr,
      .make = makeCodec<SockJsSession>,
  };
  return entry;
}

std::string sockjsUpgradePath(std::string_view url_path, std::uint64_t random) {
  url_path = url_path.substr(0, url_path.find('#'));  // never sent
  const auto question = url_path.find('?');
  std::string path(url_path.substr(0, question));
  const auto query = question == std::string_view::npos ? std::string_view() : url_path.substr(question);
  // Already /<server>/<session>/websocket?
  std::string_view rest = path;
  std::string_view segments[3];
  bool complete = true;
  for (int i = 2; i >= 0; --i) {
    const auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) {
      complete = false;
      break;
    }
    segments[i] = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  complete = complete && segments[2] == "websocket" && segments[0].size() == 3 &&
             segments[0].find_first_not_of("0123456789") == std::string_view::npos && !segments[1].empty();
  if (complete) return std::string(url_path);
  while (!path.empty() && path.back() == '/') path.pop_back();
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  path += '/';
  path += std::to_string(random % 1000 + 1000).substr(1);  // three digits, leading zeros kept
  random /= 1000;
  path += '/';
  for (int i = 0; i < 8; ++i) {
    path += kAlphabet[random % (sizeof kAlphabet - 1)];
    random /= sizeof kAlphabet - 1;
  }
  path += "/websocket";
  path += query;
  return path;
}

std::size_t sockjsSessionSize() { return sizeof(SockJsSession); }

}  // namespace wsprobe
