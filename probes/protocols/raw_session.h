// Bare RFC 6455: no session handshake (ready at 101), `subscribe` entries sent
// as text messages once open, and every server data message counted.
#pragma once

#include "probes/protocols/protocol_table.h"

namespace wsprobe {

const ProtocolEntry& rawProtocol();

}  // namespace wsprobe
