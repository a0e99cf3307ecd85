// The application protocols wsprobe speaks, by name: an explicit table (as
// blackbox_exporter picks its probers), no self-registration. Config checks
// `protocol` and the `session` keys against it; the engine makes one codec
// per connection from it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "probes/protocols/session_protocol.h"

namespace wsprobe {

struct ProtocolEntry {
  std::string_view name;  // the `protocol` value: "raw", "socketio", "graphql-ws", ...
  // Keys the `session` table may hold for this protocol (README lists them);
  // any other key is a configuration error.
  std::span<const std::string_view> session_keys;
  // Subprotocols offered in the upgrade when the target configures none
  // ("graphql-transport-ws", "mqtt", "v12.stomp", ...). Empty: none.
  std::span<const std::string_view> subprotocols;
  // Whether `subscribe` means something for this protocol.
  bool takes_subscribe = true;
  // Checks one `session` value; returns what is wrong, or "" when it is fine.
  std::string (*check_session_value)(std::string_view key, const nlohmann::json& value) = nullptr;
  // A codec for one connection. `settings` outlives it.
  std::unique_ptr<SessionProtocol> (*make)(const SessionSettings& settings) = nullptr;
};

// ProtocolEntry::make for a codec constructed from the settings alone.
template <typename Codec>
std::unique_ptr<SessionProtocol> makeCodec(const SessionSettings& settings) {
  return std::make_unique<Codec>(settings);
}

// Every protocol but "auto", in a fixed order.
std::span<const ProtocolEntry> protocolTable();
// The entry named `name`, or nullptr ("auto" has none: see protocol_detection.h).
const ProtocolEntry* findProtocol(std::string_view name);

}  // namespace wsprobe
