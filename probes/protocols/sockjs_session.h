// SockJS over its websocket transport (`/<prefix>/<server>/<session>/websocket`),
// as sockjs-client speaks it.
//
// Server frames: `o` opens the session (ready), `h` is the server's heartbeat
// (no reply), `a["m1","m2"]` carries messages (one data message each; `m"m1"`,
// the old single form, one), `c[code,"reason"]` closes it: before ready the
// session is refused with status = the code ("3000", "2010", ...), after it
// ends with the code when a close frame may carry it (1000, 3000-4999), else
// 1000. Client messages are JSON arrays of strings: each `subscribe` item goes
// out as `["item"]` once ready (not on the idle connection). There is no
// client heartbeat and no request/reply, so no app RTT. Malformed frames are
// ignored, as sockjs-client ignores them. No `session` keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& sockjsProtocol();

// The path to upgrade on, as sockjs-client builds it from the service's URL:
// "/echo" -> "/echo/<3 digits>/<8 characters>/websocket", both drawn from
// `random` (a fresh value per connection). A path that already ends in
// /<3 digits>/<session>/websocket is kept. The query is kept.
std::string sockjsUpgradePath(std::string_view url_path, std::uint64_t random);

// The size of one connection's codec object (for the bench's report).
std::size_t sockjsSessionSize();

}  // namespace wsprobe
