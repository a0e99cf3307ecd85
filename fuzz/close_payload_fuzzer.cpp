// libFuzzer target: the close-frame payload parser (probes/connection_end.cpp)
// and the classification of a connection's end built from what it returns.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "probes/connection_end.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const wsprobe::ClosePayload payload = wsprobe::parseClosePayload(data, size);
  if (size < 2 && payload.code != wsprobe::close_code::no_status)
    std::abort();
  if (size >= 2 && (payload.code < 0 || payload.code > 0xffff ||
                    payload.reason.size() != size - 2))
    std::abort();
  wsprobe::CloseObservation seen;
  seen.server_close_code = payload.code;
  seen.server_reason = payload.reason;
  const wsprobe::ConnectionEnd end =
      wsprobe::classify(seen, wsprobe::ConnectionMode::heartbeat,
                        std::chrono::milliseconds(size));
  (void)wsprobe::toString(end.cause);
  return 0;
}
