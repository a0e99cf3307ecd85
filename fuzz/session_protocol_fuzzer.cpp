// libFuzzer target for every application-protocol codec in protocolTable():
// a codec added to the table is fuzzed with no edit here.
//
// Input:
//   byte 0      the protocol: an index into protocolTable() (modulo its size);
//               0xFF instead names it: the name follows, ended by a NUL (the
//               committed seeds use this, so they keep their protocol when
//               the table grows)
//   byte 1      how the connection starts: bit 0 idle, bits 1-2 the
//               subprotocol (0: none, n: the entry's n-th), bit 3 subscribe
//               to two topics, bits 4-6 the URL path, bit 7 a 1 s heartbeat
//               interval (else 20 s)
//   byte 2      the `session` table: one of kSessionVariants (modulo), keeping
//               only the keys the protocol takes with values it accepts
//   then        server messages, each [time step][kind][length: 2 bytes,
//               little-endian][payload]: the time step advances the clock by
//               step * 100 ms (255: by 61 s) and runs every tick() that is
//               due; kind bit 0 is binary.
// After the last message the clock runs on for ten minutes of ticks.
//
// Besides "never throws, never crashes", the sink checks the SessionSink
// contract (session_protocol.h) and aborts on a breach: sessionReady at most
// once, sessionRefused only before it, sessionEnded only after it, one end at
// most, no negative round trip; and a codec must not ask to be woken at or
// before `now` again and again (the engine would spin).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "probes/protocols/protocol_table.h"

namespace {

using wsprobe::Duration;
using wsprobe::MessageKind;
using wsprobe::TimePoint;

[[noreturn]] void breach(std::string_view protocol, const char* what) {
  std::fprintf(stderr, "session codec '%.*s' breaks the SessionSink contract: %s\n",
               static_cast<int>(protocol.size()), protocol.data(), what);
  std::abort();
}

class CheckingSink final : public wsprobe::SessionSink {
 public:
  explicit CheckingSink(std::string_view protocol) : protocol_(protocol) {}

  void send(MessageKind, std::string_view payload) override { sent_bytes_ += payload.size(); }
  void sessionReady() override {
    if (ready_) breach(protocol_, "sessionReady called twice");
    if (finished_) breach(protocol_, "sessionReady after the session was refused or ended");
    ready_ = true;
  }
  void sessionRefused(std::string_view status, std::string_view) override {
    if (ready_) breach(protocol_, "sessionRefused after sessionReady");
    if (finished_) breach(protocol_, "sessionRefused after the session was refused or ended");
    if (status.empty()) breach(protocol_, "sessionRefused with an empty status");
    finished_ = true;
  }
  void appRoundTrip(Duration rtt) override {
    if (rtt < Duration::zero()) breach(protocol_, "negative app round trip");
  }
  void dataMessage() override {}
  void sessionEnded(int code, std::string_view) override {
    if (!ready_) breach(protocol_, "sessionEnded before sessionReady (use sessionRefused)");
    if (finished_) breach(protocol_, "sessionEnded after the session was refused or ended");
    if (code < 1000 || code > 4999) breach(protocol_, "sessionEnded with a code outside 1000-4999");
    finished_ = true;
  }

  bool finished() const { return finished_; }

 private:
  std::string_view protocol_;
  bool ready_ = false;
  bool finished_ = false;
  std::size_t sent_bytes_ = 0;
};

constexpr std::string_view kUrlPaths[] = {
    "/",
    "/socket/websocket?vsn=2.0.0",
    "/socket/websocket?vsn=1.0.0",
    "/socket.io/?EIO=4&transport=websocket",
    "/socket.io/?EIO=3&transport=websocket",
    "/graphql",
    "/ws/123/abcdefgh/websocket",
    "/chathub",
};

// Session tables to try: each protocol gets the keys of one that it takes
// (ProtocolEntry::session_keys) with values its check accepts. Add keys here
// when a codec grows some.
const char* const kSessionVariants[] = {
    "{}",
    R"({"invoke":"Echo","invoke_arguments":[1,"a"],"keepalive_interval":"2s","server_timeout":"5s",
        "version":5,"keepalive":2,"client_id":"probe","clean":false,
        "login":"guest","passcode":"guest","host":"/","heart_beat":"1000,1000"})",
    R"({"subscribe_mode":"invocations","subscribe_arguments":[5],"username":"u","password":"p",
        "ack_event":"ping","subscribe_event":"prices"})",
    R"({"params":{"token":"t"},"heartbeat_interval":"2s","auth":{"token":"t"},"namespace":"/chat",
        "version":4,"keepalive":0,"payload":{"token":"t"},"variables":{"n":1}})",
};

nlohmann::json sessionFor(const wsprobe::ProtocolEntry& entry, std::uint8_t variant_byte) {
  const auto variants = std::size(kSessionVariants);
  const auto variant = nlohmann::json::parse(kSessionVariants[variant_byte % variants]);
  auto session = nlohmann::json::object();
  for (const auto& [key, value] : variant.items()) {
    const bool known =
        std::find(entry.session_keys.begin(), entry.session_keys.end(), key) != entry.session_keys.end();
    if (known && (!entry.check_session_value || entry.check_session_value(key, value).empty())) {
      session[key] = value;
    }
  }
  return session;
}

// The settings outlive every codec made from them, as a target's do: one
// per protocol, start byte and session variant, made once.
const wsprobe::SessionSettings& settingsFor(const wsprobe::ProtocolEntry& entry, std::uint8_t start_byte,
                                            std::uint8_t variant_byte) {
  static std::map<std::tuple<std::string_view, int, std::size_t>, wsprobe::SessionSettings> made;
  const int shape = ((start_byte >> 3) & 1) | (((start_byte >> 4) & 7) << 1) | (((start_byte >> 7) & 1) << 4);
  const std::size_t variant = variant_byte % std::size(kSessionVariants);
  auto [found, inserted] = made.try_emplace({entry.name, shape, variant});
  if (inserted) {
    auto& settings = found->second;
    if (shape & 1) settings.subscribe = {"room:lobby", "prices"};
    settings.url_path = std::string(kUrlPaths[(shape >> 1) & 7]);
    settings.heartbeat_interval = (shape & 16) ? std::chrono::seconds(1) : std::chrono::seconds(20);
    settings.session = sessionFor(entry, variant_byte);
  }
  return found->second;
}

// Runs every tick due at `now`; a codec that stays due after many ticks would
// make the engine spin.
void tickDue(wsprobe::SessionProtocol& session, TimePoint now, CheckingSink& sink, std::string_view name) {
  for (int round = 0; round < 1000; ++round) {
    if (sink.finished()) return;
    const auto wake = session.nextWake();
    if (!wake || *wake > now) return;
    session.tick(now, sink);
  }
  breach(name, "nextWake() stays at or before now after 1000 ticks");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto table = wsprobe::protocolTable();
  if (size < 2 || table.empty()) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const wsprobe::ProtocolEntry* entry = nullptr;
  if (static_cast<std::uint8_t>(input[0]) == 0xFF) {
    const auto end = input.find('\0', 1);
    if (end == std::string_view::npos) return 0;
    entry = wsprobe::findProtocol(input.substr(1, end - 1));
    if (!entry) return 0;
    input.remove_prefix(end + 1);
  } else {
    entry = &table[static_cast<std::uint8_t>(input[0]) % table.size()];
    input.remove_prefix(1);
  }
  if (input.size() < 2) return 0;
  const auto start_byte = static_cast<std::uint8_t>(input[0]);
  const auto variant_byte = static_cast<std::uint8_t>(input[1]);
  input.remove_prefix(2);

  const auto& settings = settingsFor(*entry, start_byte, variant_byte);
  const std::size_t subprotocol_choice = (start_byte >> 1) & 3;
  const std::string_view subprotocol =
      subprotocol_choice == 0 || subprotocol_choice > entry->subprotocols.size()
          ? std::string_view()
          : entry->subprotocols[subprotocol_choice - 1];

  auto session = entry->make(settings);
  CheckingSink sink(entry->name);
  TimePoint now = wsprobe::atOffset(std::chrono::seconds(1000));
  session->start({.subprotocol = subprotocol, .idle = (start_byte & 1) != 0}, now, sink);

  while (input.size() >= 4 && !sink.finished()) {
    const auto step = static_cast<std::uint8_t>(input[0]);
    const auto kind = (static_cast<std::uint8_t>(input[1]) & 1) ? MessageKind::binary : MessageKind::text;
    const std::size_t length = static_cast<std::uint8_t>(input[2]) |
                               (static_cast<std::size_t>(static_cast<std::uint8_t>(input[3])) << 8);
    input.remove_prefix(4);
    const std::string_view payload = input.substr(0, length);
    input.remove_prefix(payload.size());
    now += step == 255 ? std::chrono::seconds(61) : std::chrono::milliseconds(100) * step;
    tickDue(*session, now, sink, entry->name);
    if (sink.finished()) break;
    // A copy in a buffer of its exact size, so that reading past the payload
    // is caught by AddressSanitizer.
    const auto copy = std::make_unique<char[]>(payload.size());
    std::copy(payload.begin(), payload.end(), copy.get());
    session->receive(kind, std::string_view(copy.get(), payload.size()), now, sink);
  }
  for (int second = 0; second < 600 && !sink.finished(); ++second) {
    now += std::chrono::seconds(1);
    tickDue(*session, now, sink, entry->name);
  }
  return 0;
}
