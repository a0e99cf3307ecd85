// --web.config.file: the web configuration every official Prometheus
// exporter shares (exporter-toolkit's YAML: tls_server_config,
// http_server_config, basic_auth_users). The only user of yaml-cpp. Errors
// name the file, line, column and key; secrets (hashes) never appear in one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/config.h"
#include "agent/web_security.h"

namespace wsprobe {

struct WebConfigResult {
  std::optional<WebSecurity> security;
  std::string error;  // "FILE:LINE:COLUMN: key 'K': what is wrong" when security is empty
};

// `base_directory`: relative cert_file, key_file and client_ca_file are
// taken from there (the file's own directory, as exporter-toolkit does).
WebConfigResult parseWebConfig(std::string_view text, std::string_view source_name,
                               const std::string& base_directory);
WebConfigResult loadWebConfigFile(const std::string& path);

// What the listener enforces: the web config file's when one is given, else
// the TOML [web] table's. TLS or users set in both is an error (two sources
// of truth for who may read the metrics); the TOML's listen_address is used
// either way.
WebConfigResult resolveWebSecurity(const WebConfig& toml, const std::string& web_config_file);

}  // namespace wsprobe
