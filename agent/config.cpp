// The TOML configuration, as SPEC.md describes it. The only file that
// includes toml++. Every problem becomes one message that names the file,
// line, column and key; values that may hold secrets (header values, URLs
// after ${VAR} expansion) never appear in one.
#include "config.h"

#include <re2/re2.h>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <span>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "probes/credential_template.h"
#include "probes/protocols/protocol_table.h"

namespace wsprobe {

namespace {

// The one way out of the parser: caught in parseConfig and turned into the
// ConfigResult's error. Never escapes this file.
struct ConfigProblem {
  std::string message;
};

constexpr std::string_view kTargetKeys[] = {
    "connections",     "heartbeat",      "heartbeat_message", "heartbeat_expect",
    "ping_interval",   "pong_timeout",   "connect_timeout",   "idle_probe",
    "idle_probe_max",  "backoff_initial", "backoff_max",      "backoff_multiplier",
    "subprotocols",    "origin",         "headers",           "labels",
    "tls",             "protocol",       "session",           "subscribe",
    "message_timeout",
};
constexpr std::string_view kTlsKeys[] = {"ca_file", "insecure_skip_verify", "server_name"};
constexpr std::string_view kWebKeys[] = {"listen_address", "tls_cert_file", "tls_key_file",
                                         "basic_auth_users"};
constexpr std::string_view kAgentKeys[] = {"location", "target_files", "shard"};
constexpr std::string_view kTopKeys[] = {"agent", "web", "defaults", "target"};

// Labels wsprobe sets itself, or that Prometheus adds on scrape.
constexpr std::string_view kReservedLabels[] = {"target", "location", "mode", "code",  "cause",
                                                "stage",  "status",   "le",   "job",   "instance"};
// Headers libwebsockets writes for the upgrade; set through other keys.
constexpr std::string_view kReservedHeaders[] = {
    "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
    "sec-websocket-protocol", "sec-websocket-extensions", "origin", "content-length"};

bool contains(std::span<const std::string_view> words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isTokenChar(char c) {  // RFC 7230 tchar
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

bool isTargetName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

bool isLabelName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

const char* typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

class Parser {
 public:
  Parser(std::string_view source_name, const EnvLookup& env) : source_(source_name), env_(env) {}

  Config parse(const toml::table& root) {
    checkKeys(root, "", kTopKeys);
    Config config;
    if (const auto* agent = tableAt(root, "agent", "agent")) {
      checkKeys(*agent, "agent", kAgentKeys);
      if (const auto* node = agent->get("location")) {
        config.location = string(*node, "agent.location");
        if (config.location.empty()) fail(*node, "agent.location", "must not be empty when set");
      }
      if (const auto* node = agent->get("target_files")) {
        config.target_files = stringArray(*node, "agent.target_files");
        for (const auto& pattern : config.target_files) {
          if (pattern.empty()) fail(*node, "agent.target_files", "a pattern must not be empty");
        }
      }
      if (const auto* node = agent->get("shard")) {
        std::string error;
        config.shard_setting = parseShardSetting(string(*node, "agent.shard"), &error);
        if (!config.shard_setting) fail(*node, "agent.shard", error);
      }
    }
    if (const auto* web = tableAt(root, "web", "web")) config.web = parseWeb(*web);

    TargetSpec defaults;
    if (const auto* table = tableAt(root, "defaults", "defaults")) {
      checkKeys(*table, "defaults", kTargetKeys);
      apply(*table, "defaults", defaults);
      defaults_table_ = table;
    }
    config.defaults = defaults;
    config.targets = parseTargets(root, defaults);
    return config;
  }

  // A target file: [[target]] tables and nothing else.
  std::vector<TargetSpec> parseTargetFile(const toml::table& root, const TargetSpec& defaults) {
    static constexpr std::string_view kTargetFileKeys[] = {"target"};
    checkKeys(root, "", kTargetFileKeys);
    return parseTargets(root, defaults);
  }

 private:
  std::vector<TargetSpec> parseTargets(const toml::table& root, const TargetSpec& defaults) {
    std::vector<TargetSpec> out;
    const toml::node* targets = root.get("target");
    if (!targets) return out;
    const auto* array = targets->as_array();
    if (!array || !array->is_array_of_tables()) {
      fail(*targets, "target", "must be an array of tables ([[target]])");
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::table& table = *array->get(i)->as_table();
      const std::string path = "target[" + std::to_string(i) + "]";
      out.push_back(parseTarget(table, path, defaults));
      const TargetSpec& spec = out.back();
      if (!names.insert(spec.name).second) {
        fail(*table.get("name"), path + ".name", "duplicate target name '" + spec.name + "'");
      }
    }
    return out;
  }

  [[noreturn]] void fail(const toml::node& node, std::string_view key, std::string_view what) const {
    fail(node.source(), key, what);
  }
  [[noreturn]] void fail(const toml::source_region& where, std::string_view key,
                         std::string_view what) const {
    std::ostringstream out;
    out << source_ << ":" << where.begin.line << ":" << where.begin.column << ": key '" << key
        << "': " << what;
    throw ConfigProblem{out.str()};
  }

  void checkKeys(const toml::table& table, const std::string& path,
                 std::span<const std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      if (!contains(allowed, key.str())) {
        const std::string full = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
        fail(key.source().begin.line ? key.source() : node.source(), full, "unknown key");
      }
    }
  }

  const toml::table* tableAt(const toml::table& parent, std::string_view key,
                             const std::string& path) const {
    const toml::node* node = parent.get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(*node, path, std::string("must be a table, not ") + typeName(node->type()));
    return node->as_table();
  }

  std::string string(const toml::node& node, const std::string& path) const {
    if (const auto value = node.value_exact<std::string>()) return *value;
    fail(node, path, std::string("must be a string, not ") + typeName(node.type()));
  }
  bool boolean(const toml::node& node, const std::string& path) const {
    if (const auto value = node.value_exact<bool>()) return *value;
    fail(node, path, std::string("must be true or false, not ") + typeName(node.type()));
  }
  std::int64_t integer(const toml::node& node, const std::string& path, std::int64_t min,
                       std::int64_t max) const {
    const auto value = node.value_exact<std::int64_t>();
    if (!value) fail(node, path, std::string("must be an integer, not ") + typeName(node.type()));
    if (*value < min || *value > max) {
      fail(node, path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return *value;
  }
  double number(const toml::node& node, const std::string& path) const {
    if (const auto value = node.value_exact<double>()) return *value;
    if (const auto value = node.value_exact<std::int64_t>()) return static_cast<double>(*value);
    fail(node, path, std::string("must be a number, not ") + typeName(node.type()));
  }
  Duration duration(const toml::node& node, const std::string& path) const {
    const std::string text = string(node, path);
    std::string error;
    const auto value = parseDuration(text, &error);
    if (!value) fail(node, path, error);
    if (*value <= Duration::zero()) fail(node, path, "must be longer than zero");
    return *value;
  }
  std::vector<std::string> stringArray(const toml::node& node, const std::string& path) const {
    const auto* array = node.as_array();
    if (!array) fail(node, path, std::string("must be an array of strings, not ") + typeName(node.type()));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < array->size(); ++i) {
      out.push_back(string(*array->get(i), path + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  // ${NAME} from the environment; "$$" is a literal "$". The expanded text
  // may be a secret: it is never put into a message.
  std::string expand(const toml::node& node, const std::string& path, std::string_view text) const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$') {
        out += text[i];
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      if (i + 1 >= text.size() || text[i + 1] != '{') {
        out += '$';
        continue;
      }
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) fail(node, path, "unterminated ${ (write $$ for a literal $)");
      if (text.substr(i).starts_with("${file:")) {
        // Read by the engine at every connection attempt: kept as written,
        // checked for syntax only (the file need not exist yet).
        const std::string_view reference = text.substr(i, close - i + 1);
        if (const auto problem = credentialTemplateProblem(reference)) fail(node, path, *problem);
        out += reference;
        i = close;
        continue;
      }
      const std::string_view name = text.substr(i + 2, close - i - 2);
      const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                         std::all_of(name.begin(), name.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                         });
      if (!valid) fail(node, path, "invalid environment variable name '${" + std::string(name) + "}'");
      const auto value = env_(name);
      if (!value) fail(node, path, "environment variable '" + std::string(name) + "' is not set");
      out += *value;
      i = close;
    }
    return out;
  }

  void requireReadable(const toml::node& node, const std::string& path, const std::string& file) const {
    if (::access(file.c_str(), R_OK) != 0) {
      fail(node, path, "cannot read '" + file + "': " + std::strerror(errno));
    }
  }

  WebConfig parseWeb(const toml::table& web) const {
    checkKeys(web, "web", kWebKeys);
    WebConfig config;
    if (const auto* node = web.get("listen_address")) {
      config.listen_address = string(*node, "web.listen_address");
      const auto colon = config.listen_address.rfind(':');
      int port = -1;
      const std::string port_text =
          colon == std::string::npos ? std::string() : config.listen_address.substr(colon + 1);
      const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (colon == std::string::npos || ec != std::errc() || end != port_text.data() + port_text.size() ||
          port < 0 || port > 65535) {
        fail(*node, "web.listen_address", "must be HOST:PORT or :PORT, e.g. \":9713\"");
      }
    }
    const auto* cert = web.get("tls_cert_file");
    const auto* key = web.get("tls_key_file");
    if (cert) config.tls_cert_file = string(*cert, "web.tls_cert_file");
    if (key) config.tls_key_file = string(*key, "web.tls_key_file");
    if (cert && !key) fail(*cert, "web.tls_key_file", "is required when web.tls_cert_file is set");
    if (key && !cert) fail(*key, "web.tls_cert_file", "is required when web.tls_key_file is set");
    if (cert) requireReadable(*cert, "web.tls_cert_file", config.tls_cert_file);
    if (key) requireReadable(*key, "web.tls_key_file", config.tls_key_file);
    if (const auto* users = tableAt(web, "basic_auth_users", "web.basic_auth_users")) {
      for (const auto& [user, node] : *users) {
        const std::string path = "web.basic_auth_users." + std::string(user.str());
        const std::string hash = string(node, path);
        static const RE2 bcrypt(R"(\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53})");
        if (!RE2::FullMatch(hash, bcrypt)) {
          fail(node, path, "must be a bcrypt hash ($2y$..., e.g. from `htpasswd -nBC 10 USER`)");
        }
        if (user.str().empty() || user.str().find(':') != std::string_view::npos) {
          fail(node, path, "user names must be non-empty and contain no ':'");
        }
        config.basic_auth_users[std::string(user.str())] = hash;
      }
    }
    return config;
  }

  TargetSpec parseTarget(const toml::table& table, const std::string& path, const TargetSpec& defaults) {
    for (const auto& [key, node] : table) {
      if (key.str() != "name" && key.str() != "url" && !contains(kTargetKeys, key.str())) {
        fail(key.source().begin.line ? key.source() : node.source(), path + "." + std::string(key.str()),
             "unknown key");
      }
    }
    TargetSpec spec = defaults;
    const toml::node* name = table.get("name");
    if (!name) fail(table, path + ".name", "is required");
    spec.name = string(*name, path + ".name");
    if (!isTargetName(spec.name)) {
      fail(*name, path + ".name", "must match [a-zA-Z0-9_.:-]+");
    }
    const toml::node* url = table.get("url");
    if (!url) fail(table, path + ".url", "is required");
    const std::string configured = string(*url, path + ".url");
    const std::string expanded = expand(*url, path + ".url", configured);
    std::string error;
    auto parsed = parseWebSocketUrl(expanded, &error);
    if (!parsed) {
      // The expanded text may hold a secret: name the problem, not the value.
      fail(*url, path + ".url", "invalid WebSocket URL " + redactUrl(configured) + ": " + error);
    }
    // Only ever shown: keep it redacted, and before ${VAR} expansion.
    parsed->text = redactUrl(configured);
    spec.url = std::move(*parsed);
    apply(table, path, spec);
    validate(table, path, spec);
    return spec;
  }

  // Sets the target keys present in `table` on `spec`. Headers and labels
  // add to (and override by name) those from [defaults]; tls fields too.
  void apply(const toml::table& table, const std::string& path, TargetSpec& spec) {
    auto at = [&](std::string_view key) { return table.get(key); };
    auto key = [&](std::string_view name) { return path + "." + std::string(name); };
    if (const auto* n = at("connections")) spec.connections = static_cast<int>(integer(*n, key("connections"), 0, 100000));
    if (const auto* n = at("heartbeat")) {
      const std::string value = string(*n, key("heartbeat"));
      if (value == "ping") {
        spec.heartbeat = Heartbeat::ping;
      } else if (value == "message") {
        spec.heartbeat = Heartbeat::message;
      } else {
        fail(*n, key("heartbeat"), "must be \"ping\" or \"message\", not \"" + value + "\"");
      }
    }
    if (const auto* n = at("heartbeat_message")) spec.heartbeat_message = string(*n, key("heartbeat_message"));
    if (const auto* n = at("heartbeat_expect")) {
      spec.heartbeat_expect = string(*n, key("heartbeat_expect"));
      const RE2 pattern(spec.heartbeat_expect, RE2::Quiet);
      if (!pattern.ok()) fail(*n, key("heartbeat_expect"), "invalid regular expression: " + pattern.error());
    }
    if (const auto* n = at("ping_interval")) spec.ping_interval = duration(*n, key("ping_interval"));
    if (const auto* n = at("pong_timeout")) spec.pong_timeout = duration(*n, key("pong_timeout"));
    if (const auto* n = at("connect_timeout")) spec.connect_timeout = duration(*n, key("connect_timeout"));
    if (const auto* n = at("idle_probe")) spec.idle_probe = boolean(*n, key("idle_probe"));
    if (const auto* n = at("idle_probe_max")) spec.idle_probe_max = duration(*n, key("idle_probe_max"));
    if (const auto* n = at("backoff_initial")) spec.backoff_initial = duration(*n, key("backoff_initial"));
    if (const auto* n = at("backoff_max")) spec.backoff_max = duration(*n, key("backoff_max"));
    if (const auto* n = at("backoff_multiplier")) {
      spec.backoff_multiplier = number(*n, key("backoff_multiplier"));
      if (!(spec.backoff_multiplier >= 1.0 && spec.backoff_multiplier <= 100.0)) {
        fail(*n, key("backoff_multiplier"), "must be between 1 and 100");
      }
    }
    if (const auto* n = at("subprotocols")) {
      spec.subprotocols = stringArray(*n, key("subprotocols"));
      for (const auto& protocol : spec.subprotocols) {
        if (!isToken(protocol)) fail(*n, key("subprotocols"), "'" + protocol + "' is not a valid subprotocol token");
      }
    }
    if (const auto* n = at("origin")) {
      const std::string origin = expand(*n, key("origin"), string(*n, key("origin")));
      if (origin.find_first_of("\r\n") != std::string::npos) fail(*n, key("origin"), "must not contain a line break");
      spec.origin = origin;
    }
    if (const auto* headers = tableAt(table, "headers", key("headers"))) {
      for (const auto& [name, node] : *headers) {
        const std::string header_path = key("headers") + "." + std::string(name.str());
        if (!isToken(name.str())) fail(node, header_path, "is not a valid header name");
        if (contains(kReservedHeaders, lowered(name.str()))) {
          fail(node, header_path, "is set by wsprobe (use the url, origin or subprotocols keys)");
        }
        const std::string value = expand(node, header_path, string(node, header_path));
        if (value.find_first_of("\r\n") != std::string::npos) {
          fail(node, header_path, "the value must not contain a line break");
        }
        // Not `name` in the lambda: clang 14 (the fuzzers' compiler) cannot
        // capture a structured binding.
        const std::string lowered_name = lowered(name.str());
        auto same = std::find_if(spec.headers.begin(), spec.headers.end(), [&](const auto& header) {
          return lowered(header.first) == lowered_name;
        });
        if (same != spec.headers.end()) {
          same->second = value;
        } else {
          spec.headers.emplace_back(std::string(name.str()), value);
        }
      }
    }
    if (const auto* labels = tableAt(table, "labels", key("labels"))) {
      for (const auto& [name, node] : *labels) {
        const std::string label_path = key("labels") + "." + std::string(name.str());
        if (!isLabelName(name.str()) || name.str().starts_with("__")) {
          fail(node, label_path, "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)");
        }
        if (contains(kReservedLabels, name.str())) fail(node, label_path, "is a label wsprobe or Prometheus sets itself");
        spec.labels[std::string(name.str())] = string(node, label_path);
      }
    }
    if (const auto* n = at("protocol")) {
      const std::string value = string(*n, key("protocol"));
      if (value != "auto" && !findProtocol(value)) {
        std::string names = "auto";
        for (const auto& entry : protocolTable()) names += ", " + std::string(entry.name);
        fail(*n, key("protocol"), "unknown protocol \"" + value + "\" (one of: " + names + ")");
      }
      spec.protocol = value;
    }
    if (const auto* n = at("session")) {
      // The whole table replaces one from [defaults]; its keys are checked
      // against the protocol once the target's protocol is known (validate).
      if (!n->is_table()) fail(*n, key("session"), std::string("must be a table, not ") + typeName(n->type()));
      spec.session_json = toJson(*n, key("session")).dump();
    }
    if (const auto* n = at("subscribe")) spec.subscribe = stringArray(*n, key("subscribe"));
    if (const auto* n = at("message_timeout")) spec.message_timeout = duration(*n, key("message_timeout"));
    if (const auto* tls = tableAt(table, "tls", key("tls"))) {
      checkKeys(*tls, key("tls"), kTlsKeys);
      if (const auto* n = tls->get("ca_file")) {
        spec.tls.ca_file = string(*n, key("tls.ca_file"));
        requireReadable(*n, key("tls.ca_file"), spec.tls.ca_file);
      }
      if (const auto* n = tls->get("insecure_skip_verify")) {
        spec.tls.insecure_skip_verify = boolean(*n, key("tls.insecure_skip_verify"));
      }
      if (const auto* n = tls->get("server_name")) {
        spec.tls.server_name = string(*n, key("tls.server_name"));
        if (spec.tls.server_name.find_first_of(" \t\r\n/") != std::string::npos) {
          fail(*n, key("tls.server_name"), "must be a host name");
        }
      }
    }
  }

  // A TOML value as JSON, for the application protocol's `session` table.
  // Strings expand ${VAR} (credentials often come from the environment).
  nlohmann::json toJson(const toml::node& node, const std::string& path) const {
    if (const auto* table = node.as_table()) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [name, value] : *table) {
        out[std::string(name.str())] = toJson(value, path + "." + std::string(name.str()));
      }
      return out;
    }
    if (const auto* array = node.as_array()) {
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < array->size(); ++i) {
        out.push_back(toJson(*array->get(i), path + "[" + std::to_string(i) + "]"));
      }
      return out;
    }
    if (const auto value = node.value_exact<std::string>()) return expand(node, path, *value);
    if (const auto value = node.value_exact<std::int64_t>()) return *value;
    if (const auto value = node.value_exact<double>()) return *value;
    if (const auto value = node.value_exact<bool>()) return *value;
    fail(node, path, std::string("must be a string, number, boolean, array or table, not ") + typeName(node.type()));
  }

  // The `session` keys and `subscribe` against the target's protocol. With
  // "auto" a key must belong to at least one protocol.
  void validateProtocolOptions(const toml::table& table, const std::string& path, const TargetSpec& spec) const {
    const toml::node* session = table.get("session");
    std::string session_path = path + ".session";
    if (!session && defaults_table_ && defaults_table_->get("session")) {
      session = defaults_table_->get("session");
      session_path = "defaults.session";
    }
    const ProtocolEntry* protocol = findProtocol(spec.protocol);
    if (session) {
      for (const auto& [name, value] : *session->as_table()) {
        const std::string key_path = session_path + "." + std::string(name.str());
        // A copy: lambdas cannot capture structured bindings before C++20 in clang 14.
        const std::string_view key_name = name.str();
        const auto takes = [key_name](const ProtocolEntry& entry) { return contains(entry.session_keys, key_name); };
        bool known = false;
        if (protocol) {
          known = takes(*protocol);
        } else {
          for (const auto& entry : protocolTable()) known = known || takes(entry);
        }
        if (!known) {
          std::string allowed;
          if (protocol) {
            for (const auto& word : protocol->session_keys) allowed += (allowed.empty() ? "" : ", ") + std::string(word);
          }
          fail(name.source().begin.line ? name.source() : value.source(), key_path,
               "is not a session option of protocol \"" + spec.protocol + "\"" +
                   (protocol ? " (it takes: " + (allowed.empty() ? std::string("none") : allowed) + ")" : ""));
        }
        if (protocol && protocol->check_session_value) {
          const nlohmann::json parsed = nlohmann::json::parse(spec.session_json, nullptr, false);
          if (parsed.is_object() && parsed.contains(std::string(name.str()))) {
            const std::string problem = protocol->check_session_value(name.str(), parsed[std::string(name.str())]);
            if (!problem.empty()) fail(value, key_path, problem);
          }
        }
      }
    }
    if (protocol && !protocol->takes_subscribe && !spec.subscribe.empty()) {
      const toml::node* at = table.get("subscribe") ? table.get("subscribe") : table.get("name");
      fail(*at, path + ".subscribe", "protocol \"" + spec.protocol + "\" has nothing to subscribe to");
    }
  }

  // Rules that involve more than one key, checked after defaults merged in.
  void validate(const toml::table& table, const std::string& path, const TargetSpec& spec) const {
    validateProtocolOptions(table, path, spec);
    const toml::node& where = table.get("connections") ? *table.get("connections") : *table.get("name");
    if (spec.connections == 0 && !spec.idle_probe) {
      fail(where, path + ".connections", "is 0 and idle_probe is off: the target would hold nothing");
    }
    if (spec.backoff_max < spec.backoff_initial) {
      const toml::node& at = table.get("backoff_max") ? *table.get("backoff_max") : *table.get("name");
      fail(at, path + ".backoff_max", "must not be shorter than backoff_initial");
    }
  }

  std::string source_;
  const EnvLookup& env_;
  const toml::table* defaults_table_ = nullptr;
};

}  // namespace

EnvLookup processEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

ConfigResult parseConfig(std::string_view text, std::string_view source_name, const EnvLookup& env) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream out;
    out << source_name << ":" << error.source().begin.line << ":" << error.source().begin.column
        << ": " << error.description();
    return {std::nullopt, out.str()};
  }
  try {
    return {Parser(source_name, env).parse(root), ""};
  } catch (const ConfigProblem& problem) {
    return {std::nullopt, problem.message};
  }
}

TargetFileResult parseTargetFile(std::string_view text, std::string_view source_name,
                                 const TargetSpec& defaults, const EnvLookup& env) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream out;
    out << source_name << ":" << error.source().begin.line << ":" << error.source().begin.column
        << ": " << error.description();
    return {std::nullopt, {}, out.str()};
  }
  TargetFileResult result;
  try {
    result.targets = Parser(source_name, env).parseTargetFile(root, defaults);
  } catch (const ConfigProblem& problem) {
    return {std::nullopt, {}, problem.message};
  }
  for (std::size_t i = 0; i < result.targets->size(); ++i) {
    const auto& where = root["target"][i]["name"].node()->source().begin;
    std::ostringstream origin;
    origin << source_name << ":" << where.line << ":" << where.column << ": key 'target[" << i << "].name'";
    result.origins.push_back(origin.str());
  }
  return result;
}

ConfigResult loadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {std::nullopt, path + ": cannot read: " + std::strerror(errno)};
  std::ostringstream text;
  text << file.rdbuf();
  return parseConfig(text.str(), path, env);
}

std::optional<Duration> parseDuration(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<Duration> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return fail("empty duration (use e.g. \"20s\", \"250ms\", \"5m\")");
  if (text.front() == '-') return fail("negative duration " + quoted);
  struct Unit {
    std::string_view name;
    double nanoseconds;
  };
  // Longer names first, so "ms" is not read as "m" then "s".
  static constexpr Unit kUnits[] = {{"ns", 1},         {"us", 1e3},          {"µs", 1e3},
                                    {"ms", 1e6},       {"s", 1e9},           {"m", 60e9},
                                    {"h", 3600e9},     {"d", 86400e9}};
  double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t digits = 0;
    while (digits < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[digits])) || rest[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) return fail("invalid duration " + quoted + " (use e.g. \"20s\", \"250ms\", \"1m30s\")");
    double value = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits, value);
    if (ec != std::errc() || end != rest.data() + digits) return fail("invalid number in duration " + quoted);
    rest.remove_prefix(digits);
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (rest.starts_with(candidate.name)) {
        unit = &candidate;
        break;
      }
    }
    if (!unit) {
      return fail("duration " + quoted + " needs a unit (ns, us, ms, s, m, h, d), e.g. \"" +
                  std::string(text.substr(0, digits)) + "s\"");
    }
    rest.remove_prefix(unit->name.size());
    total += value * unit->nanoseconds;
  }
  if (!std::isfinite(total) || total > 3.15e18) return fail("duration " + quoted + " is too long");
  return Duration(static_cast<Duration::rep>(std::llround(total)));
}

std::string formatDuration(Duration duration) {
  using namespace std::chrono;
  if (duration == Duration::zero()) return "0s";
  std::string out;
  if (duration < Duration::zero()) {
    out = "-";
    duration = -duration;
  }
  if (duration < seconds(1)) {
    if (duration % milliseconds(1) == Duration::zero()) return out + std::to_string(duration_cast<milliseconds>(duration).count()) + "ms";
    if (duration % microseconds(1) == Duration::zero()) return out + std::to_string(duration_cast<microseconds>(duration).count()) + "us";
    return out + std::to_string(duration.count()) + "ns";
  }
  const auto h = duration_cast<hours>(duration);
  duration -= h;
  const auto m = duration_cast<minutes>(duration);
  duration -= m;
  if (h.count()) out += std::to_string(h.count()) + "h";
  if (m.count()) out += std::to_string(m.count()) + "m";
  if (duration > Duration::zero()) {
    const auto s = duration_cast<seconds>(duration);
    const auto fraction = duration - s;
    out += std::to_string(s.count());
    if (fraction > Duration::zero()) {
      std::string digits = std::to_string(fraction.count() + 1000000000).substr(1);  // 9 digits
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    out += "s";
  }
  return out;
}

}  // namespace wsprobe
