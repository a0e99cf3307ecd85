// ASP.NET Core SignalR, JSON hub protocol over WebSocket, name "signalr".
// Written from dotnet/aspnetcore's src/SignalR/docs/specs/HubProtocol.md and
// TransportProtocols.md and the JavaScript client's defaults; not tried
// against a live SignalR server.
//
// Transport: the WebSocket goes straight to the hub URL (the client's
// skipNegotiation: TransportProtocols.md "WebSockets (Full Duplex)", no `id`
// query parameter, so the server makes a new connection). Every hub message
// is a JSON record ended by 0x1E; one WebSocket message may carry several, and
// a record cut at a message boundary is completed by the next one.
//
// Session:
// - Handshake {"protocol":"json","version":1}<RS>; the answer {}<RS> makes the
//   session ready, {"error":...} refuses it (status "handshake_error"), and a
//   Close message before it refuses it too (status "close").
// - Keepalive, as the JavaScript client: a Ping {"type":6} right after the
//   handshake, then whenever `keepalive_interval` (default 15 s) passed with
//   nothing sent, on every connection. Pings from the server are keepalives
//   too (HubProtocol.md "Ping (aka Keep Alive)": no answer). Nothing from the
//   server for `server_timeout` (default 30 s; the server pings every 15 s)
//   ends the session, as the client stops then.
// - Close {"type":7,"error":...,"allowReconnect":...} ends the session (1000).
// - App RTT: with session key `invoke` (a hub method name), heartbeat
//   connections send every SessionSettings::heartbeat_interval an Invocation
//   {"type":1,"invocationId":"<n>","target":<invoke>,"arguments":<invoke_arguments>}
//   without waiting for the previous one (the client's invoke(), not send():
//   an Invocation without an id gets no answer); its Completion (type 3, with
//   a result or an error: the server answered either way) is the round trip.
// - `subscribe`, by session key `subscribe_mode`:
//   "stream" (default): each entry is a hub streaming method, called with a
//     StreamInvocation {"type":4,"invocationId":"<n>","target":<entry>,
//     "arguments":<subscribe_arguments>}; each StreamItem (type 2) of it is a
//     data message, and its Completion ends the session (1000: the stream
//     stopped, so reconnecting resubscribes, as with a Phoenix phx_close).
//   "invocations": each entry is the name of a client method the server calls
//     (connection.on(name) in the JavaScript client; case-insensitive, as
//     there); each Invocation (type 1) of one of them is a data message.
//   An Invocation from the server that carries an invocationId (a client
//   result request) is answered with a Completion error "Client didn't
//   provide a result.", as the JavaScript client answers a handler that
//   returns nothing.
// - Idle connection: handshake and keepalives only (and the answers above).
// - A record that is not a JSON object with a numeric `type` is a protocol
//   error: sessionRefused("protocol_error") before ready, sessionEnded(1002)
//   after. Unknown types, Acks and Sequences are ignored, as the client does.
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& signalrProtocol();

}  // namespace wsprobe
