#include "support/targets_api.h"

#include <nlohmann/json.hpp>

#include "support/http_client.h"

namespace wsprobe::testing {

TargetProtocol targetProtocol(int port, const std::string &target) {
  TargetProtocol protocol;
  const auto answer = httpGet(port, "/api/v1/targets");
  const auto body = nlohmann::json::parse(answer.body, nullptr, false);
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) return protocol;
  for (const auto &item : body["data"]) {
    if (!item.is_object() || item.value("target", "") != target) continue;
    protocol.found = true;
    if (item.contains("protocol") && item["protocol"].is_string()) protocol.configured = item["protocol"];
    if (item.contains("protocol_in_use") && item["protocol_in_use"].is_string()) {
      protocol.in_use = item["protocol_in_use"];
    }
  }
  return protocol;
}

}  // namespace wsprobe::testing
