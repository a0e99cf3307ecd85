// The configuration file: the only place that knows TOML. Produces fully
// resolved TargetSpecs (defaults applied, ${VAR} expanded, URLs parsed) or one
// error that names the file, line, column and key.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/shard.h"
#include "probes/target_spec.h"

namespace wsprobe {

struct WebConfig {
  std::string listen_address = ":9713";
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  bool operator==(const WebConfig&) const = default;
};

struct Config {
  std::string location;  // [agent] location; empty: no location label
  // [agent] target_files: glob patterns of more target files (TOML, or
  // Prometheus file_sd JSON/YAML), as written; agent/target_files.h reads them.
  std::vector<std::string> target_files;
  std::optional<ShardSetting> shard_setting;  // [agent] shard, when set
  Shard shard;  // the share held: set by agent/target_files.h's loader; 0/1 (all) otherwise
  WebConfig web;
  TargetSpec defaults;  // [defaults], applied to the targets of target files too
  std::vector<TargetSpec> targets;
};

// Looks up an environment variable; std::nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup processEnvironment();

struct ConfigResult {
  std::optional<Config> config;
  std::string error;  // "FILE:LINE:COLUMN: key 'K': what is wrong" when config is empty
};

ConfigResult parseConfig(std::string_view text, std::string_view source_name, const EnvLookup& env);
ConfigResult loadConfigFile(const std::string& path, const EnvLookup& env);

// A target file in TOML: [[target]] tables only, with the same keys (and
// errors) as in the main file, `defaults` applied.
struct TargetFileResult {
  std::optional<std::vector<TargetSpec>> targets;
  // Per target, where its name is set: "FILE:LINE:COLUMN: key 'target[0].name'".
  std::vector<std::string> origins;
  std::string error;  // "FILE:LINE:COLUMN: key 'K': what is wrong"
};
TargetFileResult parseTargetFile(std::string_view text, std::string_view source_name,
                                 const TargetSpec& defaults, const EnvLookup& env);

// "250ms", "20s", "5m", "1h", "1m30s"; also "1.5s". Negative or unitless
// values are rejected. Returns std::nullopt and sets *error on failure.
std::optional<Duration> parseDuration(std::string_view text, std::string* error);
std::string formatDuration(Duration duration);  // "20s", "250ms", "1m30s"

}  // namespace wsprobe
