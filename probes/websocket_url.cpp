#include "websocket_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace wsprobe {

namespace {
// "a=1&b&c=2" -> "a=***&b&c=***"
void appendRedactedQuery(std::string_view query, std::string& out) {
  bool in_value = false;
  for (const char c : query) {
    if (c == '&') {
      in_value = false;
      out += c;
    } else if (c == '=' && !in_value) {
      in_value = true;
      out += "=***";
    } else if (!in_value) {
      out += c;
    }
  }
}
}  // namespace

std::string redactUrl(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  // The authority follows the first "://" unless a path, query or fragment
  // began before it; whatever stands before "://" (a scheme or not).
  std::size_t authority_start = 0;
  if (const auto scheme_end = text.find("://");
      scheme_end != std::string_view::npos && text.find_first_of("/?#") > scheme_end) {
    authority_start = scheme_end + 3;
  }
  out.append(text.substr(0, authority_start));
  const std::size_t authority_end = std::min(text.find_first_of("/?#", authority_start), text.size());
  std::string_view authority = text.substr(authority_start, authority_end - authority_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out += "***";
    authority.remove_prefix(at);  // from the '@' on
  }
  out.append(authority);

  std::string_view rest = text.substr(authority_end);
  const std::size_t fragment = rest.find('#');
  const std::size_t query = rest.find('?');
  const std::size_t path_end = std::min(query, fragment);
  out.append(rest.substr(0, path_end));
  if (query != std::string_view::npos && query < fragment) {
    out += '?';
    appendRedactedQuery(rest.substr(query + 1, fragment == std::string_view::npos ? std::string_view::npos
                                                                                   : fragment - query - 1),
                        out);
  }
  if (fragment != std::string_view::npos) out += fragment + 1 < rest.size() ? "#***" : "#";
  return out;
}

std::string WebSocketUrl::redacted() const { return redactUrl(text); }

namespace {
bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}
}  // namespace

std::optional<WebSocketUrl> parseWebSocketUrl(std::string_view text, std::string* error) {
  WebSocketUrl url;
  url.text = std::string(text);
  std::string_view rest = text;
  if (rest.starts_with("wss://")) {
    url.secure = true;
    rest.remove_prefix(6);
  } else if (rest.starts_with("ws://")) {
    rest.remove_prefix(5);
  } else {
    fail(error, "scheme must be ws:// or wss://");
    return std::nullopt;
  }
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (path.find('#') != std::string_view::npos) {
    fail(error, "a WebSocket URL must not have a fragment");
    return std::nullopt;
  }
  if (path.find_first_of(" \t\r\n") != std::string_view::npos) {
    fail(error, "the path must not contain whitespace");
    return std::nullopt;
  }
  url.path = path.empty() ? "/" : (path.front() == '?' ? "/" + std::string(path) : std::string(path));

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(error, "unterminated IPv6 address");
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(error, "unexpected text after IPv6 address");
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
    if (url.host.empty() ||
        !std::all_of(url.host.begin(), url.host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      fail(error, "invalid IPv6 address");
      return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (url.host.empty()) {
      fail(error, "missing host");
      return std::nullopt;
    }
    if (!std::all_of(url.host.begin(), url.host.end(), validHostChar)) {
      fail(error, "invalid character in host");
      return std::nullopt;
    }
  }
  if (port_text.empty()) {
    url.port = url.secure ? 443 : 80;
  } else {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      fail(error, "invalid port '" + std::string(port_text) + "'");
      return std::nullopt;
    }
    url.port = port;
  }
  return url;
}

}  // namespace wsprobe
