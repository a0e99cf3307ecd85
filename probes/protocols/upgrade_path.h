// The path and query an upgrade is sent to: the one the protocol's official
// client sends for the URL a user would paste. Socket.IO servers answer 400
// to an upgrade without `EIO` and `transport=websocket`; SockJS servers take
// WebSocket clients only on /<server>/<session>/websocket below the service's
// base URL. Other protocols upgrade on the URL as configured.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsprobe {

// `protocol` is the target's configured one ("auto", "raw", "socketio", ...).
// socketio, and auto when the path holds a /socket.io/ segment: the query the
// client adds (socketioUpgradePath). sockjs: the session suffix, drawn from
// `random` (a fresh value per attempt: a session id is used once).
std::string upgradePath(std::string_view protocol, std::string_view url_path, std::uint64_t random);

}  // namespace wsprobe
