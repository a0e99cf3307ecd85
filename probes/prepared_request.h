// The request of one connection attempt: the target's path, origin and
// headers with their ${file:...} credentials read now (see
// credential_template.h). A file that cannot be read fails the attempt at
// stage config; the failure names the file, never a file's contents. The
// path is the one the protocol's client upgrades on (upgrade_path.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "probes/connection_end.h"
#include "probes/credential_template.h"
#include "probes/target_spec.h"

namespace wsprobe {

struct PreparedRequest {
  std::string path;  // with the query, as upgraded on (socketio: EIO added, sockjs: session suffix)
  std::string origin;
  std::vector<std::pair<std::string, std::string>> headers;
};

// `random`: a fresh draw per attempt (a SockJS session id is used once).
std::variant<PreparedRequest, ConnectionFailure> prepareRequest(const TargetSpec& spec, const FileReader& read,
                                                                std::uint64_t random);

}  // namespace wsprobe
