// Socket.IO over its websocket transport, as the official client speaks it
// (socket.io-protocol v5 on Engine.IO v4; Engine.IO v3 when the URL asks for
// it with EIO=3).
//
// Engine.IO v4: the server opens with `0{"sid":..,"pingInterval":..,
// "pingTimeout":..}` and pings with `2`; the client answers `3`. The client
// then sends CONNECT (`40`, `40{auth}`, `40/ns,{auth}`) and the session is
// ready on the server's CONNECT (`40{"sid":..}`) for that namespace. A
// CONNECT_ERROR (`44{"message":..}`) refuses the session (status
// "connect_error"); a DISCONNECT (`41`) after that ends it (code 1000).
//
// Engine.IO v3 (EIO=3 in the URL): the client pings (`2`) every pingInterval
// of the server's open packet and the server's pong (`3`) is an app round
// trip, on every connection (the idle one must ping too, or the server drops
// it). The server connects the default namespace by itself and says so with
// `40`; for another namespace the client sends `40/ns?<auth as query>,`
// (v3 has no CONNECT payload).
//
// `session` keys (the README lists them):
//   auth             object: the CONNECT payload (v3: the namespace's query)
//   namespace        string starting with "/", default "/"
//   ack_event        string: on heartbeat connections, once ready and then
//                    every heartbeat_interval, emit `42<id>["<ack_event>"]`;
//                    the server's acknowledgement `43<id>[..]` is an app RTT
//   subscribe_event  string: once ready, emit `42["<subscribe_event>","<item>"]`
//                    for each `subscribe` item, and every event counts as
//                    data; without it `subscribe` lists the event names that
//                    count as data (every event when empty)
//
// Data messages: EVENT (`42[..]`) and BINARY_EVENT (`45<n>-[..]`) packets of
// the namespace, filtered as above; their binary attachments (binary
// WebSocket messages) are not counted again. Malformed input ends the
// session as the official client does (1002 once ready; status
// "invalid_packet" before), never a throw.
#pragma once

#include <string>
#include <string_view>

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& socketioProtocol();

// The path and query to upgrade on, as the official client builds them: the
// server answers 400 without EIO and transport=websocket, so what is missing
// is added ("/socket.io/" -> "/socket.io/?EIO=4&transport=websocket"; a bare
// "/" -> "/socket.io/?EIO=4&transport=websocket", the client's default path;
// "/socket.io" gets its trailing slash). The user's parameters are kept in
// their order, EIO too (EIO=3 speaks v3); transport is always websocket.
std::string socketioUpgradePath(std::string_view url_path);

// The size of one connection's codec object (for the bench's report).
std::size_t socketioSessionSize();

}  // namespace wsprobe
