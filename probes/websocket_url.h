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

  // redactUrl(text): safe for logs, pages and reports.
  std::string redacted() const;
  bool operator==(const WebSocketUrl&) const = default;
};


// The one redaction of URLs in wsprobe: what any URL (parsed or not, before or
// after ${VAR} expansion) looks like wherever it is shown. The userinfo becomes
// "***" ("wss://***@host/ws"), every query value "***" (names are kept:
// "?access_token=***&room=***&flag"), a fragment "#***". Only the parts are
// replaced, by position: the same text elsewhere in the URL stays as it is.
// Text without "://" is read as starting with the authority, so a
// "user:pass@host" missing its scheme is redacted too.
std::string redactUrl(std::string_view text);

// Parses ws://host[:port][/path][?query]; returns the reason on failure.
std::optional<WebSocketUrl> parseWebSocketUrl(std::string_view text, std::string* error);

}  // namespace wsprobe
