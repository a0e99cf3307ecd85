// libwebsockets' connection monitor (conmon), read into wsprobe's types. The
// engine turns it on per connection (LCCSCF_CONMON, which also keeps a copy of
// the DNS answers) and takes the record when the handshake ends.
#pragma once

#include "probes/handshake_phases.h"

struct lws;

namespace wsprobe {

// What the monitor recorded for `wsi` so far. The copy of the DNS answers
// passes to this call and is freed here.
ConnectionTrace takeConnectionTrace(lws* wsi);

}  // namespace wsprobe
