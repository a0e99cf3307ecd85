// What /api/v1/targets says about one target's application protocol.
#pragma once

#include <string>

namespace wsprobe::testing {

struct TargetProtocol {
  bool found = false;      // the target is listed
  std::string configured;  // "protocol": "auto", "raw", "socketio", ...
  std::string in_use;      // "protocol_in_use"; "" while undecided (null)
};

// GET /api/v1/targets from the agent listening on 127.0.0.1:`port`.
TargetProtocol targetProtocol(int port, const std::string &target);

}  // namespace wsprobe::testing
