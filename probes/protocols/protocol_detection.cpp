#include "probes/protocols/protocol_detection.h"

#include <algorithm>
#include <array>
#include <utility>

namespace wsprobe {

namespace {

// The path of `url_path`: without query and fragment, and without a
// trailing slash (but "/" stays "/").
std::string_view pathOf(std::string_view url_path) {
  auto path = url_path.substr(0, url_path.find_first_of("?#"));
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

std::string_view queryOf(std::string_view url_path) {
  const auto question = url_path.find('?');
  if (question == std::string_view::npos) return {};
  const auto query = url_path.substr(question + 1);
  return query.substr(0, query.find('#'));
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Whether the query has a parameter `name` (any value).
bool hasParameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == name) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// The last `count` segments of a path, last one last; fewer when the path has
// fewer.
std::vector<std::string_view> lastSegments(std::string_view path, std::size_t count) {
  std::vector<std::string_view> segments;
  while (segments.size() < count && !path.empty()) {
    const auto slash = path.rfind('/');
    segments.insert(segments.begin(), path.substr(slash == std::string_view::npos ? 0 : slash + 1));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
  }
  return segments;
}

bool isSockJsWebsocketPath(std::string_view path) {
  // /<prefix>/<server: three digits>/<session>/websocket
  const auto segments = lastSegments(path, 3);
  if (segments.size() != 3 || segments[2] != "websocket") return false;
  const auto server = segments[0];
  const bool three_digits = server.size() == 3 && std::all_of(server.begin(), server.end(),
                                                              [](char c) { return c >= '0' && c <= '9'; });
  const auto session = segments[1];
  return three_digits && !session.empty() && session.find('.') == std::string_view::npos;
}

bool isPhoenixPath(std::string_view path, std::string_view query) {
  return endsWith(path, "/socket/websocket") || (endsWith(path, "/websocket") && hasParameter(query, "vsn"));
}

bool isSocketIoUrl(std::string_view path, std::string_view query) {
  return path.find("/socket.io/") != std::string_view::npos || endsWith(path, "/socket.io") ||
         hasParameter(query, "EIO");
}

// Subprotocols that name the protocol the server agreed to speak.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kSubprotocolProtocols = {{
    {"graphql-transport-ws", "graphql-ws"},
    {"graphql-ws", "graphql-ws"},
    {"mqtt", "mqtt"},
    {"mqttv3.1", "mqtt"},
    {"v10.stomp", "stomp"},
    {"v11.stomp", "stomp"},
    {"v12.stomp", "stomp"},
    {"actioncable-v1-json", "actioncable"},
    {"actioncable-unsupported", "actioncable"},
}};

bool isEngineIoOpen(std::string_view message) {
  if (message.size() < 2 || message[0] != '0' || message[1] != '{') return false;
  const auto open = nlohmann::json::parse(message.substr(1), nullptr, false);
  return open.is_object() && open.contains("sid");
}

bool isActionCableWelcome(std::string_view message) {
  if (message.empty() || message.front() != '{') return false;
  const auto welcome = nlohmann::json::parse(message, nullptr, false);
  if (!welcome.is_object()) return false;
  const auto type = welcome.find("type");
  return type != welcome.end() && type->is_string() && type->get_ref<const std::string&>() == "welcome";
}

}  // namespace

std::vector<std::string> autoSubprotocols(std::string_view url_path) {
  const auto path = pathOf(url_path);
  if (endsWith(path, "/graphql") || endsWith(path, "/subscriptions")) {
    // The legacy one first, as protocol "graphql-ws" offers them: graphql-ws
    // servers pick graphql-transport-ws wherever it is in the list, while
    // subscriptions-transport-ws servers take the first offered (npm ws's
    // default) and close with 1002 unless it is graphql-ws.
    return {"graphql-ws", "graphql-transport-ws"};
  }
  if (endsWith(path, "/mqtt")) return {"mqtt"};
  // STOMP brokers name their endpoint freely (RabbitMQ: /ws, Spring: any):
  // only a path that says stomp is offered STOMP's subprotocols.
  if (endsWith(path, "/stomp")) return {"v12.stomp", "v11.stomp", "v10.stomp"};
  if (endsWith(path, "/cable")) return {"actioncable-v1-json"};
  return {};
}

std::optional<std::string_view> detectAtUpgrade(std::string_view url_path, std::string_view subprotocol) {
  // The subprotocol the server picked is its own word: it goes first.
  for (const auto& [name, protocol] : kSubprotocolProtocols) {
    if (subprotocol == name) return protocol;
  }
  const auto path = pathOf(url_path);
  const auto query = queryOf(url_path);
  if (isSocketIoUrl(path, query)) return "socketio";
  if (isSockJsWebsocketPath(path)) return "sockjs";
  if (isPhoenixPath(path, query)) return "phoenix";
  return std::nullopt;
}

std::string_view detectFromFirstMessage(std::string_view, std::optional<std::string_view> first_message) {
  if (!first_message) return "raw";
  const auto message = *first_message;
  if (isEngineIoOpen(message)) return "socketio";
  if (message == "o") return "sockjs";
  if (isActionCableWelcome(message)) return "actioncable";
  return "raw";
}

}  // namespace wsprobe
