// libFuzzer target: the test bed's HTTP upgrade parsing (testbed/
// upgrade_request.*): finding the end of the request head, the early garbage
// check, the parser, and the answer decided from what it parsed.
// fuzz-link: wsprobe_testbed
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "testbed/upgrade_request.h"

namespace endpoints = wsprobe::endpoints;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char *>(data), size);
  (void)endpoints::couldBeRequestHead(bytes);
  const std::size_t head_length = endpoints::requestHeadLength(bytes);
  if (head_length > bytes.size())
    std::abort();
  const std::string_view head =
      head_length > 0 ? bytes.substr(0, head_length) : bytes;
  const auto parsed = endpoints::parseRequestHead(head);
  if (!parsed) {
    (void)endpoints::errorResponse(400, "bad request");
    return 0;
  }
  const endpoints::UpgradeDecision decision = endpoints::decideUpgrade(*parsed);
  if (decision.status == 101) {
    if (decision.accept_key.size() != 28)
      std::abort(); // base64 of a SHA-1
    (void)endpoints::switchingProtocolsResponse(decision);
  } else {
    (void)endpoints::errorResponse(decision.status, decision.problem);
  }
  return 0;
}
