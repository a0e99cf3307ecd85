// STOMP over WebSocket (`protocol = "stomp"`): STOMP 1.2, accepting servers
// of 1.0 and 1.1, as stomp.js speaks it (one frame per WebSocket message).
//
// - Handshake: CONNECT with accept-version:1.0,1.1,1.2, the configured host,
//   login and passcode (each only when configured; stomp.js sends no host by
//   default, and RabbitMQ takes host for a virtual host name) and heart-beat.
//   CONNECTED makes the session ready; an ERROR frame before it is a refusal
//   with status "error_frame" (the detail is its `message` header), after it
//   the session ends (sessionEnded 1000: the broker closes after an ERROR).
// - Heart-beats (STOMP 1.2 "Heart-beating"): the client offers cx,cy (session
//   key heart_beat, default stomp.js' 10000,10000); with the server's sx,sy
//   from CONNECTED the client sends an EOL every max(cx, sy) when both are
//   non-zero, on every connection the idle one included (a broker that asked
//   for them drops a client without them). The server's heart-beats (EOLs)
//   are not data. The client does not close a server whose heart-beats stop:
//   wsprobe's own RFC 6455 pings find a dead peer, and `message_timeout` a
//   silent one.
// - Subscriptions: a SUBSCRIBE (id:sub-<n>, ack:auto) for each `subscribe`
//   destination once ready; every MESSAGE frame is a data message.
// - App RTT on heartbeat connections, every heartbeat_interval once ready:
//   BEGIN of a fresh transaction "wsprobe-rtt-<n>", then its ABORT carrying
//   receipt:wsprobe-rtt-<n>; the RECEIPT answering the newest one is the
//   round trip (from the BEGIN). An empty transaction that is aborted is the
//   one request every broker accepts, answers with a receipt, and that
//   changes nothing: no destination, queue or subscription is created or
//   touched (an UNSUBSCRIBE of an unknown id is an ERROR on RabbitMQ, a SEND
//   would publish). Older receipts are ignored.
// - Framing: command line, header lines, blank line, body, NUL, with EOLs
//   allowed before a frame; a WebSocket message may hold several frames. A
//   body runs to content-length when given, else to the NUL; a last frame
//   without its NUL is taken as ending with the message. A frame with no
//   header block end is malformed: sessionRefused("malformed") before ready,
//   sessionEnded(1002) after. Unknown commands are ignored, as stomp.js does.
//
// Session keys: `login`, `passcode`, `host` (strings), `heart_beat` ("cx,cy",
// milliseconds).
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry &stompProtocol();

} // namespace wsprobe
