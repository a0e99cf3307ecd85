// Rails ActionCable (subprotocol actioncable-v1-json), spoken as the official
// client (@rails/actioncable: connection.js, connection_monitor.js,
// subscriptions.js) speaks it.
//
// - The server speaks first: {"type":"welcome"} makes the session ready.
//   {"type":"disconnect","reason":R,...} before it refuses the session with
//   status R ("unauthorized" from reject_unauthorized_connection); after it,
//   ends the session (1000). A server that picked actioncable-unsupported
//   (it knows no protocol version this client does) refuses it with
//   "unsupported_protocol", as the official client stops there.
// - Keepalive: the server sends {"type":"ping","message":<unix time>} every
//   3 s and expects no reply. The official client's monitor looks every 3 s
//   whether the last ping (or the welcome) is more than 6 s old (two missed
//   pings) and reopens the connection if so: it reopens 6 to 9 s after the
//   last ping. The codec ends the session (1000) at the late edge, 9 s, so
//   that it never drops a connection that the official client keeps. The
//   check is the codec's own, not the engine's `stale`: pings are not data
//   messages, and a connection whose channel is quiet but whose pings come
//   is healthy. It runs only once ready (connect_timeout covers the welcome).
// - Subscribe (not on the idle connection): each `subscribe` item is a
//   channel. A name ("PricesChannel") becomes the identifier
//   {"channel":"PricesChannel"}, as subscriptions.create(name) makes it; a
//   JSON object text ({"channel":"Chat","room":"1"}) is the identifier as
//   written. {"command":"subscribe","identifier":...} goes out for each at
//   the welcome; the confirm_subscription of each is an app round trip
//   (the channel's `subscribed` runs in the application). A
//   reject_subscription ends the session (1000, the identifier in the
//   detail): a monitor whose channel is refused measures nothing it was asked
//   to, and that must show as ends with a reason, not as silence (the
//   official client only calls `rejected`; the reconnect backoff bounds the
//   retries, and the idle connection is unharmed).
// - Data: every message with an `identifier` and a `message` and no `type`
//   (a broadcast on a subscribed channel).
// - A message that is not a JSON object is dropped, as the official client's
//   JSON.parse throws and the connection goes on.
//
// No session keys: ActionCable authenticates the upgrade itself (a cookie or
// a token in the URL).
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& actionCableProtocol();

}  // namespace wsprobe
