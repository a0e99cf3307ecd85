#include "connect_failure.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace wsprobe {

namespace {
bool mentionsAny(const std::string& lowered, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view word) {
    return lowered.find(word) != std::string::npos;
  });
}
}  // namespace

ConnectionFailure classifyConnectFailure(std::string_view lws_message, int http_status,
                                         bool timed_out, bool secure) {
  ConnectionFailure failure;
  failure.detail = std::string(lws_message);
  std::string lowered(lws_message);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  if (timed_out) {
    failure.stage = FailureStage::timeout;
  } else if (http_status != 0 && http_status != 101) {
    failure.stage = FailureStage::http;
    failure.http_status = http_status;
  } else if (mentionsAny(lowered, {"dns", "getaddrinfo", "resolve", "lookup", "name or service"})) {
    failure.stage = FailureStage::dns;
  } else if (secure && mentionsAny(lowered, {"ssl", "tls", "certificate", "x509", "verify"})) {
    failure.stage = FailureStage::tls;
  } else if (mentionsAny(lowered, {"hs:", "upgrade", "accept", "protocol", "header", "101",
                                   "response", "extension"})) {
    failure.stage = FailureStage::protocol;
  } else {
    failure.stage = FailureStage::tcp;
  }
  return failure;
}

}  // namespace wsprobe
