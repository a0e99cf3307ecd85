// `protocol = "auto"`: which protocol a server speaks, decided from the URL,
// the subprotocol the server picked, and the server's first message. Pure,
// so it is tested on transcripts. Raw where nothing is recognised, so
// configurations written before protocols existed keep working.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/protocols/session_protocol.h"

namespace wsprobe {

// How long an undecided connection waits for the server's first message
// before it is taken for raw (servers of Socket.IO, SockJS and ActionCable
// speak first, at once).
inline constexpr Duration kDetectionWindow = std::chrono::seconds(2);

// The subprotocols to offer in the upgrade of an `auto` target that
// configures none, from its URL (for example graphql-ws and
// graphql-transport-ws for a path ending in /graphql, mqtt for /mqtt, the STOMP ones
// for /stomp). Offering one a raw server does not know is harmless; offering
// ones the URL gives no hint of is not: npm `ws` and others pick the first
// offered, and a raw server would then be taken for that protocol's. So a
// STOMP broker on RabbitMQ's default /ws needs `protocol = "stomp"`.
std::vector<std::string> autoSubprotocols(std::string_view url_path);

// After the 101: the protocol's table name when the URL or the picked
// subprotocol decides it, std::nullopt when the first message must.
std::optional<std::string_view> detectAtUpgrade(std::string_view url_path,
                                                std::string_view subprotocol);

// The server's first message (or none, when kDetectionWindow passed without
// one): the protocol's table name, "raw" when nothing is recognised.
std::string_view detectFromFirstMessage(std::string_view url_path,
                                        std::optional<std::string_view> first_message);

}  // namespace wsprobe
