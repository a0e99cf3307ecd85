// A minimal HTTP/1.1 client for tests: one request per connection, loopback.
#pragma once

#include <string>

namespace wsprobe::testing {

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string body;
};

HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::string& body = "");
// The same to an IPv4 address other than 127.0.0.1 (a network namespace's).
HttpResult httpRequestTo(const std::string& host, int port, const std::string& method, const std::string& path,
                         const std::string& body = "");
inline HttpResult httpGet(int port, const std::string& path) { return httpRequest(port, "GET", path); }

}  // namespace wsprobe::testing
