// Times the phases a WebSocket connection goes through before its upgrade
// (DNS lookup, TCP connect, TLS handshake) on a connection of its own, since
// libwebsockets reports only the whole handshake. It sends no HTTP and
// verifies no certificate: the WebSocket connections do that.
#pragma once

#include "agent/diagnose/observations.h"
#include "probes/websocket_url.h"

namespace wsprobe::diagnose {

// Every step gives up after `timeout`; the result says where it stopped.
Preflight measurePreflight(const WebSocketUrl& url, const std::string& server_name, Duration timeout);

}  // namespace wsprobe::diagnose
