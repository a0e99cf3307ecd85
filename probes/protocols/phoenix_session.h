// Phoenix Channels over WebSocket (phoenixframework/phoenix, the JavaScript
// client in assets/js/phoenix and the server's serializers), name "phoenix".
// Written from those sources; not tried against a live Phoenix server.
//
// Serializer: the URL's `vsn` query parameter picks it, as it does on the
// server (Phoenix.Socket negotiates the serializer from it):
//   vsn=2.0.0  V2: a message is the array [join_ref, ref, topic, event, payload];
//              the server may also send binary frames (push, reply, broadcast).
//   vsn=1.0.0  V1: a message is the object {topic, event, payload, ref}.
// A URL without `vsn` gets V1, because that is what the server falls back to
// ("1.0.0" when the parameter is absent); the official client always adds
// vsn=2.0.0, so a URL copied from a browser carries it. Incoming messages are
// read in either shape.
//
// Session:
// - With no `subscribe` topics (and on the idle connection) the socket is
//   ready at the upgrade. Otherwise every topic is joined at once with
//   phx_join (payload: session key `params`, an object, default {}), join refs
//   "1", "2", ... as the official client numbers them; the session is ready at
//   the first join whose phx_reply has status "ok". A join refused before that
//   (phx_reply with another status, or phx_error/phx_close on the topic) is
//   sessionRefused: status = the reply's `response.reason` when it is a short
//   token ("unauthorized"), else "join_error"; refused later, sessionEnded.
// - Heartbeat: [null,"<ref>","phoenix","heartbeat",{}] every keepalive interval
//   (session key `heartbeat_interval`, default 30 s, the official client's
//   heartbeatIntervalMs; the server drops a socket silent for 60 s) on every
//   connection, idle included; on heartbeat connections every
//   SessionSettings::heartbeat_interval when that is shorter. One heartbeat is
//   in flight at a time; its phx_reply is an app round trip. A heartbeat
//   unanswered for a keepalive interval ends the session (1000, "heartbeat
//   timeout"), as the official client closes and reconnects then.
// - phx_error or phx_close on a joined topic ends the session (1000); any
//   other event on a joined topic is a data message; messages of other topics,
//   and of an earlier join (V2 join_ref), are ignored.
// - A message that is not Phoenix (not JSON, wrong shape) is a protocol error:
//   sessionRefused("protocol_error") before ready, sessionEnded(1002) after.
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& phoenixProtocol();

}  // namespace wsprobe
