#include "web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/basic_auth.h"

namespace wsprobe {

namespace {

// The one way out of the parser: caught in parseWebConfig.
struct WebConfigProblem {
  std::string message;
};

// Go's names of the TLS 1.0-1.2 suites crypto/tls implements, and
// OpenSSL's for the same suite.
struct CipherSuiteName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CipherSuiteName kCipherSuites[] = {
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};
constexpr std::string_view kTls13Suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                             "TLS_CHACHA20_POLY1305_SHA256"};

struct CurveName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CurveName kCurves[] = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

struct ClientAuthName {
  std::string_view name;
  ClientAuth value;
};
constexpr ClientAuthName kClientAuthTypes[] = {
    {"NoClientCert", ClientAuth::no_client_cert},
    {"RequestClientCert", ClientAuth::request_client_cert},
    {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
    {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
    {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert},
};

struct VersionName {
  std::string_view name;
  TlsVersion value;
};
constexpr VersionName kVersions[] = {{"TLS10", TlsVersion::tls10},
                                     {"TLS11", TlsVersion::tls11},
                                     {"TLS12", TlsVersion::tls12},
                                     {"TLS13", TlsVersion::tls13}};

// The headers exporter-toolkit lets http_server_config.headers set, and the
// values it allows for each (empty: any).
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const AllowedHeader kAllowedHeaders[] = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

constexpr std::string_view kTopKeys[] = {"tls_server_config", "http_server_config", "basic_auth_users"};
constexpr std::string_view kTlsKeys[] = {
    "cert_file",        "key_file",    "client_auth_type", "client_ca_file",
    "min_version",      "max_version", "cipher_suites",    "prefer_server_cipher_suites",
    "curve_preferences"};
constexpr std::string_view kHttpKeys[] = {"headers", "http2"};
// exporter-toolkit keys this listener does not implement: named as such,
// not as typing mistakes.
constexpr std::string_view kUnsupportedKeys[] = {"cert", "key", "client_allowed_sans", "rate_limit"};

std::string joined(const auto& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

class WebConfigParser {
 public:
  WebConfigParser(std::string_view source, std::string base_directory)
      : source_(source), base_directory_(std::move(base_directory)) {}

  WebSecurity parse(const YAML::Node& root) const {
    WebSecurity security;
    if (!root || root.IsNull()) return security;  // an empty file: plain HTTP, no auth
    if (!root.IsMap())
      fail(root, "(top level)",
           "must be a mapping of tls_server_config, http_server_config, basic_auth_users");
    checkKeys(root, "", kTopKeys);
    if (const auto tls = root["tls_server_config"]; tls && !tls.IsNull()) {
      security.tls = parseTls(tls);
    }
    if (const auto http = root["http_server_config"]; http && !http.IsNull()) {
      security.headers = parseHttp(http);
    }
    if (const auto users = root["basic_auth_users"]; users && !users.IsNull()) {
      requireMap(users, "basic_auth_users");
      for (const auto& entry : users) {
        const std::string user = entry.first.as<std::string>();
        const std::string path = "basic_auth_users." + user;
        security.basic_auth_users[user] = scalar(entry.second, path);
        const std::map<std::string, std::string> one = {{user, security.basic_auth_users[user]}};
        if (BasicAuthenticator(one).validate()) {
          // validate() names the user, never the hash.
          fail(entry.second, path,
               "must be a bcrypt hash ($2y$, $2b$ or $2a$; `wsprobe hash-password` prints one)");
        }
      }
    }
    return security;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, std::string_view key, const std::string& what) const {
    const YAML::Mark mark = node.Mark();
    std::string where(source_);
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    throw WebConfigProblem{where + ": key '" + std::string(key) + "': " + what};
  }

  template <std::size_t N>
  void checkKeys(const YAML::Node& map, std::string_view section, const std::string_view (&known)[N]) const {
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      const std::string path = section.empty() ? key : std::string(section) + "." + key;
      if (std::find(std::begin(known), std::end(known), key) != std::end(known)) continue;
      if (std::find(std::begin(kUnsupportedKeys), std::end(kUnsupportedKeys), key) !=
          std::end(kUnsupportedKeys)) {
        fail(entry.first, path, "is not supported by wsprobe");
      }
      fail(entry.first, path,
           "unknown key" + (section.empty() ? std::string() : " in " + std::string(section)) +
               " (known: " + joined(known) + ")");
    }
  }

  void requireMap(const YAML::Node& node, std::string_view path) const {
    if (!node.IsMap()) fail(node, path, "must be a mapping");
  }

  std::string scalar(const YAML::Node& node, std::string_view path) const {
    if (!node.IsScalar()) fail(node, path, "must be a string");
    return node.Scalar();
  }

  bool boolean(const YAML::Node& node, std::string_view path) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
      fail(node, path, "must be true or false");
    return value;
  }

  std::vector<YAML::Node> list(const YAML::Node& node, std::string_view path) const {
    if (!node.IsSequence()) fail(node, path, "must be a list");
    return {node.begin(), node.end()};
  }

  std::string file(const YAML::Node& node, std::string_view path) const {
    std::string name = scalar(node, path);
    if (name.empty()) fail(node, path, "must not be empty");
    if (name.front() != '/' && !base_directory_.empty()) name = base_directory_ + "/" + name;
    return name;
  }

  TlsVersion version(const YAML::Node& node, std::string_view path) const {
    const std::string text = scalar(node, path);
    for (const auto& [name, value] : kVersions) {
      if (text == name) return value;
    }
    fail(node, path, "must be one of TLS10, TLS11, TLS12, TLS13");
  }

  TlsServerSettings parseTls(const YAML::Node& tls) const {
    requireMap(tls, "tls_server_config");
    checkKeys(tls, "tls_server_config", kTlsKeys);
    TlsServerSettings settings;
    if (!tls["cert_file"]) fail(tls, "tls_server_config.cert_file", "is required");
    if (!tls["key_file"]) fail(tls, "tls_server_config.key_file", "is required");
    settings.cert_file = file(tls["cert_file"], "tls_server_config.cert_file");
    settings.key_file = file(tls["key_file"], "tls_server_config.key_file");
    if (const auto node = tls["client_ca_file"]) {
      settings.client_ca_file = file(node, "tls_server_config.client_ca_file");
    }
    if (const auto node = tls["client_auth_type"]) {
      const std::string text = scalar(node, "tls_server_config.client_auth_type");
      const auto* found = std::find_if(std::begin(kClientAuthTypes), std::end(kClientAuthTypes),
                                       [&](const ClientAuthName& type) { return type.name == text; });
      if (found == std::end(kClientAuthTypes)) {
        fail(node, "tls_server_config.client_auth_type",
             "must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
             "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
      }
      settings.client_auth = found->value;
    }
    const bool verifies = settings.client_auth == ClientAuth::verify_client_cert_if_given ||
                          settings.client_auth == ClientAuth::require_and_verify_client_cert;
    if (verifies && settings.client_ca_file.empty()) {
      fail(tls, "tls_server_config.client_ca_file", "is required to verify client certificates");
    }
    if (!settings.client_ca_file.empty() && settings.client_auth == ClientAuth::no_client_cert) {
      // As exporter-toolkit: a CA without a policy is a mistake, not a default.
      fail(tls["client_ca_file"], "tls_server_config.client_ca_file",
           "is set but client_auth_type is NoClientCert (set RequireAndVerifyClientCert)");
    }
    if (const auto node = tls["min_version"])
      settings.min_version = version(node, "tls_server_config.min_version");
    if (const auto node = tls["max_version"]) {
      settings.max_version = version(node, "tls_server_config.max_version");
      if (*settings.max_version < settings.min_version) {
        fail(node, "tls_server_config.max_version", "is below min_version");
      }
    }
    if (const auto node = tls["cipher_suites"]) {
      for (const auto& item : list(node, "tls_server_config.cipher_suites")) {
        const std::string name = scalar(item, "tls_server_config.cipher_suites");
        if (std::find(std::begin(kTls13Suites), std::end(kTls13Suites), name) != std::end(kTls13Suites)) {
          fail(item, "tls_server_config.cipher_suites",
               "'" + name + "' is a TLS 1.3 suite; those are not configurable (as in Go)");
        }
        const auto* found = std::find_if(std::begin(kCipherSuites), std::end(kCipherSuites),
                                         [&](const CipherSuiteName& suite) { return suite.go == name; });
        if (found == std::end(kCipherSuites)) {
          fail(item, "tls_server_config.cipher_suites", "unknown cipher suite '" + name + "' (Go's names)");
        }
        settings.cipher_suites.emplace_back(found->openssl);
      }
    }
    if (const auto node = tls["prefer_server_cipher_suites"]) {
      settings.prefer_server_cipher_suites = boolean(node, "tls_server_config.prefer_server_cipher_suites");
    }
    if (const auto node = tls["curve_preferences"]) {
      for (const auto& item : list(node, "tls_server_config.curve_preferences")) {
        const std::string name = scalar(item, "tls_server_config.curve_preferences");
        const auto* found = std::find_if(std::begin(kCurves), std::end(kCurves),
                                         [&](const CurveName& curve) { return curve.go == name; });
        if (found == std::end(kCurves)) {
          fail(item, "tls_server_config.curve_preferences",
               "unknown curve '" + name + "' (CurveP256, CurveP384, CurveP521, X25519)");
        }
        settings.curves.emplace_back(found->openssl);
      }
    }
    return settings;
  }

  std::map<std::string, std::string> parseHttp(const YAML::Node& http) const {
    requireMap(http, "http_server_config");
    checkKeys(http, "http_server_config", kHttpKeys);
    if (const auto node = http["http2"]) {
      if (boolean(node, "http_server_config.http2")) {
        fail(node, "http_server_config.http2", "HTTP/2 is not supported by wsprobe (set false or leave out)");
      }
    }
    std::map<std::string, std::string> headers;
    if (const auto node = http["headers"]; node && !node.IsNull()) {
      requireMap(node, "http_server_config.headers");
      for (const auto& entry : node) {
        const std::string name = entry.first.Scalar();
        const std::string path = "http_server_config.headers." + name;
        const std::string value = scalar(entry.second, path);
        const auto* allowed = std::find_if(std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
                                           [&](const AllowedHeader& header) { return header.name == name; });
        if (allowed == std::end(kAllowedHeaders)) {
          std::vector<std::string_view> names;
          for (const auto& header : kAllowedHeaders) names.push_back(header.name);
          fail(entry.first, path, "this header cannot be configured (allowed: " + joined(names) + ")");
        }
        if (!allowed->values.empty() &&
            std::find(allowed->values.begin(), allowed->values.end(), value) == allowed->values.end()) {
          fail(entry.second, path, "must be one of " + joined(allowed->values));
        }
        if (value.find_first_of("\r\n") != std::string::npos || value.empty()) {
          fail(entry.second, path, "must be one non-empty line");
        }
        headers[name] = value;
      }
    }
    return headers;
  }

  std::string_view source_;
  std::string base_directory_;
};

}  // namespace

WebConfigResult parseWebConfig(std::string_view text, std::string_view source_name,
                               const std::string& base_directory) {
  WebConfigResult result;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    result.security = WebConfigParser(source_name, base_directory).parse(root);
  } catch (const WebConfigProblem& problem) {
    result.error = problem.message;
  } catch (const YAML::Exception& error) {
    // yaml-cpp's own message, with its line and column (0-based there).
    std::string where(source_name);
    if (!error.mark.is_null()) {
      where += ":" + std::to_string(error.mark.line + 1) + ":" + std::to_string(error.mark.column + 1);
    }
    result.error = where + ": " + error.msg;
  }
  return result;
}

WebConfigResult loadWebConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return {std::nullopt, "cannot read web config " + path + ": " + std::strerror(errno)};
  std::stringstream text;
  text << file.rdbuf();
  const auto slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  return parseWebConfig(text.str(), path, directory);
}

WebConfigResult resolveWebSecurity(const WebConfig& toml, const std::string& web_config_file) {
  if (web_config_file.empty()) {
    WebSecurity security;
    if (!toml.tls_cert_file.empty() || !toml.tls_key_file.empty()) {
      TlsServerSettings tls;
      tls.cert_file = toml.tls_cert_file;
      tls.key_file = toml.tls_key_file;
      security.tls = tls;
    }
    security.basic_auth_users = toml.basic_auth_users;
    return {security, ""};
  }
  WebConfigResult loaded = loadWebConfigFile(web_config_file);
  if (!loaded.security) return loaded;
  if (!toml.tls_cert_file.empty() || !toml.tls_key_file.empty() || !toml.basic_auth_users.empty()) {
    return {std::nullopt,
            "web.tls_cert_file, web.tls_key_file and web.basic_auth_users in the TOML file and "
            "--web.config.file=" +
                web_config_file +
                " both configure the listener: keep one (the web config file is the exporter-toolkit way)"};
  }
  return loaded;
}

}  // namespace wsprobe
