// A ws:// or wss:// URL split into the parts a connection needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsprobe {

struct WebSocketUrl {
  std::string text;      // as configured (may hold credentials: never log it)
  bool secure = false;   // wss
  std::string host;      // without brackets for IPv6 literals
  int port = 0;
  std::string path = "/";  // path and query
  std::string userinfo;  // "user:password" before '@', sent as basic auth

  // The URL with any userinfo replaced by "***", safe for logs and pages.
  std::string redacted() const;
  bool operator==(const WebSocketUrl&) const = default;
};


// Parses ws://host[:port][/path][?query]; returns the reason on failure.
std::optional<WebSocketUrl> parseWebSocketUrl(std::string_view text, std::string* error);

}  // namespace wsprobe
