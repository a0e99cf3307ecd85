#include "testbed/upgrade_request.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace wsprobe::endpoints {

namespace {

std::string lowered(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool isTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7F) return false;
  return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

// Every value of a header, joined as one comma-separated list (RFC 9110 5.3).
std::string joinedValues(const SeenRequest& request, std::string_view lower_name) {
  std::string joined;
  for (const auto& [name, value] : request.headers) {
    if (name != lower_name) continue;
    if (!joined.empty()) joined += ", ";
    joined += value;
  }
  return joined;
}

std::vector<std::string> listItems(std::string_view list) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trimmed(list.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return items;
}

bool listHasToken(std::string_view list, std::string_view lower_token) {
  for (const auto& item : listItems(list)) {
    if (lowered(item) == lower_token) return true;
  }
  return false;
}

// A Sec-WebSocket-Key must be the base64 of 16 bytes: 24 characters, "==" last.
bool isValidKey(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  unsigned char decoded[24];
  return EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(key.data()), 24) == 18;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Refused";
  }
}

// request-line = method SP request-target SP HTTP-version
std::optional<ParsedRequest> parseRequestLine(std::string_view line) {
  const std::size_t first_space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == 0 || last_space == first_space) {
    return std::nullopt;
  }
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (!std::all_of(method.begin(), method.end(), isTokenChar) || target.empty() ||
      target.find(' ') != std::string_view::npos || version.size() != 8 ||
      version.substr(0, 7) != "HTTP/1.") {
    return std::nullopt;
  }
  ParsedRequest parsed;
  parsed.request.method = std::string(method);
  parsed.request.path = std::string(target);
  parsed.version = std::string(version);
  return parsed;
}

}  // namespace

std::optional<std::string> SeenRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

std::size_t requestHeadLength(std::string_view buffer) {
  const std::size_t end = buffer.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

bool couldBeRequestHead(std::string_view partial) {
  for (const char c : partial) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\r' && c != '\n' && c != '\t') || u == 0x7F) return false;
  }
  const std::size_t line_end = partial.find("\r\n");
  return line_end == std::string_view::npos ||
         parseRequestLine(partial.substr(0, line_end)).has_value();
}

std::optional<ParsedRequest> parseRequestHead(std::string_view head) {
  std::size_t line_end = head.find("\r\n");
  if (line_end == std::string_view::npos) return std::nullopt;
  auto parsed = parseRequestLine(head.substr(0, line_end));
  if (!parsed) return std::nullopt;

  std::string_view rest = head.substr(line_end + 2);
  while (true) {
    line_end = rest.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    const std::string_view header_line = rest.substr(0, line_end);
    rest.remove_prefix(line_end + 2);
    if (header_line.empty()) break;  // the blank line ending the head
    const std::size_t colon = header_line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view name = header_line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), isTokenChar)) return std::nullopt;
    parsed->request.headers.emplace_back(lowered(name),
                                        std::string(trimmed(header_line.substr(colon + 1))));
  }
  return parsed;
}

UpgradeDecision decideUpgrade(const ParsedRequest& parsed) {
  const SeenRequest& request = parsed.request;
  UpgradeDecision decision;
  auto refuse = [&](int status, std::string problem) {
    decision.status = status;
    decision.problem = std::move(problem);
    return decision;
  };
  if (!listHasToken(joinedValues(request, "upgrade"), "websocket") ||
      !listHasToken(joinedValues(request, "connection"), "upgrade")) {
    return refuse(426, "this endpoint only speaks WebSocket\n");
  }
  if (request.method != "GET" || parsed.version != "HTTP/1.1") {
    return refuse(400, "a WebSocket upgrade is a GET over HTTP/1.1\n");
  }
  if (!request.header("host")) return refuse(400, "missing Host\n");
  if (joinedValues(request, "sec-websocket-version") != "13") {
    return refuse(426, "Sec-WebSocket-Version must be 13\n");
  }
  const auto key = request.header("sec-websocket-key");
  if (!key || !isValidKey(*key)) return refuse(400, "missing or malformed Sec-WebSocket-Key\n");
  decision.accept_key = acceptKeyFor(*key);
  const auto offered = listItems(joinedValues(request, "sec-websocket-protocol"));
  if (!offered.empty()) decision.subprotocol = offered.front();
  return decision;
}

std::string acceptKeyFor(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_length, EVP_sha1(), nullptr) != 1) {
    return {};
  }
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

std::string switchingProtocolsResponse(const UpgradeDecision& decision) {
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      decision.accept_key + "\r\n";
  if (!decision.subprotocol.empty()) {
    response += "Sec-WebSocket-Protocol: " + decision.subprotocol + "\r\n";
  }
  response += "\r\n";
  return response;
}

std::string errorResponse(int status, std::string_view body) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " ";
  response += reasonPhrase(status);
  response += "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n";
  if (status == 426) response += "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
  response += "\r\n";
  response += body;
  return response;
}

}  // namespace wsprobe::endpoints
