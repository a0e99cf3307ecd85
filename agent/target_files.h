// Targets from more files than the main one: [agent] target_files lists glob
// patterns, and every file they match adds its targets.
//
//   *.toml         [[target]] tables, the same keys and errors as in the main
//                  file, the main file's [defaults] applied;
//   *.json, *.yml, *.yaml
//                  Prometheus file_sd: a list of {targets: [URLs], labels: {}}.
//                  Each URL (ws:// or wss://, taken literally: no ${VAR}) is a
//                  target with the main file's [defaults]; `labels` become its
//                  static labels. The target's name is the label
//                  __wsprobe_target when the group has exactly one URL, else
//                  derived from the URL (targetNameFromUrl). Other labels
//                  starting with "__" are dropped, as Prometheus drops them.
//
// Relative patterns are relative to the main file's directory. Files are read
// in sorted order; a target name used twice, in any two files, is an error.
// This is also where this agent's shard is applied (agent/shard.h).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"
#include "agent/shard.h"

namespace wsprobe {

inline constexpr std::string_view kFileSdNameLabel = "__wsprobe_target";

// "wss://chat.example.com/ws" -> "chat.example.com_ws";
// "ws://10.0.0.1:8080/feed?x=1" -> "10.0.0.1:8080_feed": the host, the port
// when it is not the scheme's default, and the path without its query, with
// every character outside [a-zA-Z0-9_.:-] made '_'.
std::string targetNameFromUrl(const WebSocketUrl& url);

// A file_sd document (JSON when `json`, else YAML).
TargetFileResult parseFileSd(std::string_view text, std::string_view source_name, bool json,
                             const TargetSpec& defaults);

// The directories to watch for the patterns (the part before the first
// wildcard) and for the files they matched.
struct TargetFilesResult {
  std::optional<Config> config;
  std::string error;
  std::vector<std::string> directories;  // set even when a file is broken
};
// Adds to `config` the targets of every file its target_files match.
// `config_path` is the main file, for relative patterns and messages.
TargetFilesResult addTargetFiles(Config config, const std::string& config_path, const EnvLookup& env);

// Keeps the targets `shard` holds; records the shard in the configuration.
void keepShard(Config& config, const Shard& shard);

// The daemon's configuration from files: the main file, its target files,
// and this agent's share (the command line's --shard wins over [agent] shard).
// load() may be called from any thread.
class FileConfigSource {
 public:
  FileConfigSource(std::string config_path, std::optional<ShardSetting> shard_flag, EnvLookup env);
  ConfigResult load();
  // Where the target files of the last load that got as far as reading the
  // main file live.
  std::vector<std::string> watchedDirectories() const;

 private:
  const std::string config_path_;
  const std::optional<ShardSetting> shard_flag_;
  const EnvLookup env_;
  mutable std::mutex mutex_;
  std::vector<std::string> directories_;
};

}  // namespace wsprobe
