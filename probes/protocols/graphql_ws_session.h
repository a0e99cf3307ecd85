// GraphQL over WebSocket (`protocol = "graphql-ws"`): both protocols that go
// by that name, chosen by the subprotocol the server picked in its 101.
//
// - `graphql-transport-ws` (the graphql-ws library, enisdenjo/graphql-ws
//   PROTOCOL.md), also spoken when the server picked no subprotocol: the
//   codec sends `connection_init` (with the configured payload) and the
//   session is ready at `connection_ack`. The server's `ping` is answered with
//   a `pong` carrying the ping's payload back, as the library's client does.
//   On heartbeat connections a `{"type":"ping"}` goes out every
//   heartbeat_interval once ready, and its `pong` is an app RTT. One ping is
//   in flight at a time (pongs carry no id): a round that finds the last ping
//   unanswered sends none, unless that ping is 3 intervals old (then it is
//   given up and a new one goes out; a very late pong would be timed against
//   the new one). An unsolicited pong (allowed as a one-way heartbeat) is not
//   timed. Each `subscribe` entry is a query, sent as
//   `{"id":"<n>","type":"subscribe","payload":{"query":...,"variables":...}}`
//   with ids "1", "2", ...; `next` is a data message; `error` and `complete`
//   end that operation (data then stops, which `message_timeout` catches).
//   The server closing with 4400/4401/4403/4408/4429 is seen by the engine,
//   which records the close code as the failure status.
// - `graphql-ws` (the legacy subscriptions-transport-ws, its PROTOCOL.md):
//   `connection_init` (payload `{}` when none is configured, as its client
//   sends) -> `connection_ack` = ready; `connection_error` before the ack is a
//   refusal with status "connection_error" (after it, the server reports a
//   message it could not parse and keeps the connection: ignored); `ka`
//   keepalives are neither data nor answered; subscriptions go out as `start`
//   and `data` is a data message. This protocol has no client request/reply,
//   so no app RTT.
//
// Both subprotocols are offered, `graphql-ws` first: a subscriptions-transport-
// ws server set up as documented takes the first one offered and closes with
// 1002 on `graphql-transport-ws`; the graphql-ws library picks its own
// wherever it stands in the list.
//
// Input that is not a JSON object with a string `type`, or a type the
// protocol does not define, fails the session as the official clients do:
// before ready sessionRefused("malformed" or "unexpected_message"), after it
// sessionEnded(1002). A first message other than the ack (and ping, pong,
// ka) is "unexpected_message".
//
// Session keys:
// - `payload` (object): the `connection_init` payload (auth tokens and the
//   like; the server's onConnect sees it).
// - `variables` (object): GraphQL variables sent with every subscription.
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry &graphqlWsProtocol();

} // namespace wsprobe
