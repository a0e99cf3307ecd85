#include "probes/protocols/protocol_table.h"

#include <algorithm>
#include <array>
#include <functional>

#include "probes/protocols/actioncable_session.h"
#include "probes/protocols/graphql_ws_session.h"
#include "probes/protocols/mqtt_session.h"
#include "probes/protocols/phoenix_session.h"
#include "probes/protocols/raw_session.h"
#include "probes/protocols/signalr_session.h"
#include "probes/protocols/sockjs_session.h"
#include "probes/protocols/socketio_session.h"
#include "probes/protocols/stomp_session.h"

namespace wsprobe {

std::span<const ProtocolEntry> protocolTable() {
  // One line per protocol; the codec's own file says what it speaks.
  static const std::array table = {
      rawProtocol(),
      socketioProtocol(),
      sockjsProtocol(),
      mqttProtocol(),
      actionCableProtocol(),
      phoenixProtocol(),
      signalrProtocol(),
      graphqlWsProtocol(),
      stompProtocol(),
  };
  return table;
}

const ProtocolEntry* findProtocol(std::string_view name) {
  const auto table = protocolTable();
  const auto found = std::find_if(table.begin(), table.end(),
                                  [&](const ProtocolEntry& entry) { return entry.name == name; });
  return found == table.end() ? nullptr : &*found;
}

}  // namespace wsprobe
