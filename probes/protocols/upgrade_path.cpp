#include "probes/protocols/upgrade_path.h"

#include "probes/protocols/socketio_session.h"
#include "probes/protocols/sockjs_session.h"

namespace wsprobe {

namespace {

// Whether an `auto` target's path is a Socket.IO server's: a "socket.io"
// segment ("/socket.io/", "/chat/socket.io", "/socket.io/?EIO=4"). Only the
// path counts: "/ws?next=/socket.io/" is not one.
bool isSocketIoPath(std::string_view url_path) {
  const auto path = url_path.substr(0, url_path.find_first_of("?#"));
  return path.find("/socket.io/") != std::string_view::npos || path.ends_with("/socket.io");
}

}  // namespace

std::string upgradePath(std::string_view protocol, std::string_view url_path, std::uint64_t random) {
  if (protocol == "socketio" || (protocol == "auto" && isSocketIoPath(url_path))) {
    return socketioUpgradePath(url_path);
  }
  if (protocol == "sockjs") return sockjsUpgradePath(url_path, random);
  return std::string(url_path);
}

}  // namespace wsprobe
