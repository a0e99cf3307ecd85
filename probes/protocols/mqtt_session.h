// MQTT 3.1.1 (OASIS standard, 2014) and MQTT 5 (OASIS standard, 2019) over
// WebSocket, spoken as mqtt.js speaks them.
//
// - Start: CONNECT (protocol level 4 or 5; clean session / clean start,
//   keepalive, client id, username, password; MQTT 5 with an empty properties
//   block). CONNACK with code 0 makes the session ready; any other code
//   refuses it with status "connack_<code>" (decimal: connack_5 is 3.1.1's
//   "not authorised", connack_135 MQTT 5's). MQTT 5's Server Keep Alive in
//   the CONNACK replaces the keepalive announced, as the standard requires.
// - Keepalive: every connection, the idle one too, sends a PINGREQ when it
//   has sent nothing for `keepalive` seconds (the broker drops a client
//   silent for 1.5 keepalives), as mqtt.js does; a heartbeat connection also
//   sends one every heartbeat_interval. A PINGRESP answers the PINGREQ in
//   flight: its round trip is an app RTT. A PINGREQ still unanswered after
//   `keepalive` seconds ends the session (mqtt.js: "Keepalive timeout").
//   One PINGREQ is in flight at a time (PINGRESP carries no identifier).
// - Subscribe (not on the idle connection): one SUBSCRIBE with every
//   `subscribe` topic filter at QoS 0 once ready. A SUBACK that refuses a
//   filter (3.1.1: 0x80; 5: reason >= 0x80) ends the session (code 1000,
//   the filter and reason in the detail): a monitor whose subscription is
//   refused measures nothing it was asked to, and that must show as ends
//   with a logged reason, not as silence (the reconnect backoff bounds the
//   retries; the idle connection, which subscribes to nothing, is unharmed).
// - Data: every PUBLISH from the server is a data message; QoS 1 is
//   acknowledged with PUBACK, QoS 2 with PUBREC and PUBREL with PUBCOMP.
// - A server DISCONNECT (MQTT 5) ends the session (1000); before the CONNACK
//   it refuses it ("disconnect_<reason>").
// - Framing: a WebSocket message may carry part of a packet or several. Only
//   the fixed header and, for a PUBLISH, its topic length and packet
//   identifier are kept between messages: a PUBLISH payload is counted and
//   skipped, never held, whatever its size. Other packets (CONNACK, SUBACK,
//   DISCONNECT, ...) are held while split, up to 16 KiB; a larger one, a
//   remaining length over four bytes, or a packet that breaks the standard
//   fails the session ("protocol_error" before ready, 1002 after). The
//   buffer is empty and unallocated between packets. Text messages are read
//   as binary ones (the standard wants binary; mqtt.js reads both).
//
// Session keys: `version` (4 = 3.1.1, the default, or 5), `client_id`,
// `username`, `password`, `keepalive` (seconds, 0-65535, default 60 as
// mqtt.js; 0 turns the keepalive off), `clean` (bool, default true).
//
// Client ids: two connections must not share one (the broker disconnects the
// older), and a codec knows no connection index. So every connection takes
// the next number of a counter shared by the process: the id is
// "wsprobe-<6 hex digits drawn once per process>-<n>" (at most 23 bytes up
// to n = 10^8, the length 3.1.1 brokers must accept), or
// "<client_id>-<n>" when `client_id` is configured (a prefix, so that ACLs
// can match it). Each reconnect takes a new id, so with `clean = false` the
// broker keeps one stored session per attempt until it expires: keep the
// default `clean = true` unless that is wanted.
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& mqttProtocol();

}  // namespace wsprobe
