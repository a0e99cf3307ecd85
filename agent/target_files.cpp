#include "target_files.h"

#include <glob.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace wsprobe {

namespace {

namespace fs = std::filesystem;

// Labels wsprobe sets itself, or that Prometheus adds on scrape (as in
// config.cpp).
constexpr std::string_view kReservedLabels[] = {"target", "location", "mode", "code", "cause",
                                                "stage",  "status",   "le",   "job",  "instance"};

struct FileSdProblem {
  std::string message;
};

bool isTargetName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

bool isLabelName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Line and column (from 1) of a byte offset, for JSON syntax errors.
std::pair<std::size_t, std::size_t> lineAndColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

class FileSdReader {
 public:
  FileSdReader(std::string_view source, const TargetSpec& defaults) : source_(source), defaults_(defaults) {}

  void read(const YAML::Node& root, TargetFileResult& out) const {
    if (!root.IsDefined() || root.IsNull()) return;  // an empty file: no targets
    if (!root.IsSequence()) fail(root, "", "must be a list of {targets: [...], labels: {...}} groups");
    for (std::size_t i = 0; i < root.size(); ++i) readGroup(root[i], "[" + std::to_string(i) + "]", out);
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    const YAML::Mark mark = node.Mark();
    std::ostringstream text;
    text << source_;
    if (!mark.is_null()) text << ":" << mark.line + 1 << ":" << mark.column + 1;
    text << ": key '" << (key.empty() ? "(document)" : key) << "': " << what;
    throw FileSdProblem{text.str()};
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "must be a string");
    return node.Scalar();
  }

  void readGroup(const YAML::Node& group, const std::string& path, TargetFileResult& out) const {
    if (!group.IsMap()) fail(group, path, "must be a table with targets and labels");
    for (const auto& entry : group) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if (key != "targets" && key != "labels") fail(entry.first, path + "." + key, "unknown key");
    }
    const YAML::Node targets = group["targets"];
    if (!targets) fail(group, path + ".targets", "is required");
    if (!targets.IsSequence()) fail(targets, path + ".targets", "must be a list of ws:// or wss:// URLs");

    std::map<std::string, std::string> labels = defaults_.labels;
    std::optional<std::pair<std::string, YAML::Node>> name;
    if (const YAML::Node given = group["labels"]) {
      if (!given.IsMap()) fail(given, path + ".labels", "must be a table of label names to values");
      for (const auto& entry : given) {
        const std::string label = scalar(entry.first, path + ".labels");
        const std::string key = path + ".labels." + label;
        const std::string value = scalar(entry.second, key);
        if (label == kFileSdNameLabel) {
          name.emplace(value, entry.second);
          continue;
        }
        if (label.starts_with("__")) continue;  // Prometheus's own (__meta_*, __address__): dropped
        if (!isLabelName(label)) fail(entry.first, key, "is not a valid Prometheus label name");
        if (std::find(std::begin(kReservedLabels), std::end(kReservedLabels), label) !=
            std::end(kReservedLabels)) {
          fail(entry.first, key, "is a label wsprobe or Prometheus sets itself");
        }
        labels[label] = value;
      }
    }
    if (name && targets.size() != 1) {
      fail(name->second, path + ".labels." + std::string(kFileSdNameLabel),
           "names one target, but the group has " + std::to_string(targets.size()) +
               " URLs (give each its own group, or leave the name to be "
               "derived from the URL)");
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const std::string key = path + ".targets[" + std::to_string(i) + "]";
      const std::string text = scalar(targets[i], key);
      std::string error;
      auto url = parseWebSocketUrl(text, &error);
      if (!url) fail(targets[i], key, "invalid WebSocket URL: " + error);
      TargetSpec spec = defaults_;
      url->text = url->redacted();
      spec.url = std::move(*url);
      spec.labels = labels;
      spec.name = name ? name->first : targetNameFromUrl(spec.url);
      if (!isTargetName(spec.name)) {
        fail(name ? name->second : targets[i], name ? path + ".labels." + std::string(kFileSdNameLabel) : key,
             "target name '" + spec.name + "' must match [a-zA-Z0-9_.:-]+");
      }
      const YAML::Mark mark = (name ? name->second : targets[i]).Mark();
      std::ostringstream origin;
      origin << source_ << ":" << mark.line + 1 << ":" << mark.column + 1 << ": key '" << key << "'";
      out.origins.push_back(origin.str());
      out.targets->push_back(std::move(spec));
    }
  }

  std::string source_;
  const TargetSpec& defaults_;
};

std::optional<std::string> readWholeFile(const std::string& path, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = path + ": cannot read: " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

bool hasWildcard(std::string_view text) { return text.find_first_of("*?[{") != std::string_view::npos; }

// The directory before the first component with a wildcard.
std::string staticDirectory(const fs::path& pattern) {
  fs::path out;
  for (const auto& part : pattern.parent_path()) {
    if (hasWildcard(part.string())) break;
    out /= part;
  }
  return out.string();
}

std::string extension(const std::string& path) {
  std::string out = fs::path(path).extension().string();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string targetNameFromUrl(const WebSocketUrl& url) {
  std::string out = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.secure ? 443 : 80)) out += ":" + std::to_string(url.port);
  std::string path = url.path.substr(0, url.path.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();
  out += path;
  for (char& c : out) {
    const bool allowed =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
    if (!allowed) c = '_';
  }
  return out;
}

TargetFileResult parseFileSd(std::string_view text, std::string_view source_name, bool json,
                             const TargetSpec& defaults) {
  if (json) {
    // nlohmann first: a .json file must be JSON (YAML would accept more), and
    // its syntax errors are JSON's.
    try {
      [[maybe_unused]] const auto document = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& error) {
      const auto [line, column] = lineAndColumn(text, error.byte > 0 ? error.byte - 1 : 0);
      std::string what = error.what();
      if (const auto colon = what.find(": syntax error"); colon != std::string::npos)
        what = what.substr(colon + 2);
      return {
          std::nullopt,
          {},
          std::string(source_name) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what};
    }
  }
  // yaml-cpp walks both (JSON is YAML), because its nodes know their line
  // and column for the messages.
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    return {std::nullopt,
            {},
            std::string(source_name) + ":" + std::to_string(error.mark.line + 1) + ":" +
                std::to_string(error.mark.column + 1) + ": " + error.msg};
  }
  TargetFileResult result;
  result.targets.emplace();
  try {
    FileSdReader(source_name, defaults).read(root, result);
  } catch (const FileSdProblem& problem) {
    return {std::nullopt, {}, problem.message};
  } catch (const YAML::Exception& error) {
    return {std::nullopt, {}, std::string(source_name) + ": " + error.what()};
  }
  return result;
}

TargetFilesResult addTargetFiles(Config config, const std::string& config_path, const EnvLookup& env) {
  TargetFilesResult result;
  const fs::path base = fs::path(config_path).parent_path();
  std::set<std::string> directories;
  std::vector<std::string> files;
  for (const std::string& pattern_text : config.target_files) {
    fs::path pattern(pattern_text);
    if (pattern.is_relative()) pattern = base / pattern;
    directories.insert(staticDirectory(pattern).empty() ? "." : staticDirectory(pattern));
    glob_t matches{};
    const int status = ::glob(pattern.c_str(), GLOB_BRACE, nullptr, &matches);
    if (status == 0) {
      for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
        const std::string file = matches.gl_pathv[i];
        std::error_code ignored;
        if (fs::is_directory(file, ignored)) continue;
        if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
        directories.insert(fs::path(file).parent_path().string());
      }
    }
    ::globfree(&matches);
    if (status != 0 && status != GLOB_NOMATCH) {
      result.error = config_path + ": key 'agent.target_files': cannot list '" + pattern.string() + "'";
      result.directories.assign(directories.begin(), directories.end());
      return result;
    }
  }
  result.directories.assign(directories.begin(), directories.end());

  // Where each name was set, for the message about a duplicate.
  std::map<std::string, std::string> seen;
  for (const TargetSpec& spec : config.targets) seen.emplace(spec.name, config_path);
  for (const std::string& file : files) {
    std::string error;
    const auto text = readWholeFile(file, &error);
    if (!text) {
      result.error = error;
      return result;
    }
    const std::string kind = extension(file);
    TargetFileResult parsed;
    if (kind == ".toml") {
      parsed = parseTargetFile(*text, file, config.defaults, env);
    } else if (kind == ".json" || kind == ".yml" || kind == ".yaml") {
      parsed = parseFileSd(*text, file, kind == ".json", config.defaults);
    } else {
      result.error = file +
                     ": matched by agent.target_files, but not a .toml, "
                     ".json, .yml or .yaml file";
      return result;
    }
    if (!parsed.targets) {
      result.error = parsed.error;
      return result;
    }
    for (std::size_t i = 0; i < parsed.targets->size(); ++i) {
      TargetSpec& spec = (*parsed.targets)[i];
      const auto [previous, inserted] = seen.emplace(spec.name, file);
      if (!inserted) {
        result.error = parsed.origins[i] + ": duplicate target name '" + spec.name + "' (also in " +
                       previous->second + ")";
        return result;
      }
      config.targets.push_back(std::move(spec));
    }
  }
  result.config = std::move(config);
  return result;
}

void keepShard(Config& config, const Shard& shard) {
  config.shard = shard;
  std::erase_if(config.targets, [&](const TargetSpec& spec) { return !holds(shard, spec.name); });
}

FileConfigSource::FileConfigSource(std::string config_path, std::optional<ShardSetting> shard_flag,
                                   EnvLookup env)
    : config_path_(std::move(config_path)), shard_flag_(shard_flag), env_(std::move(env)) {}

ConfigResult FileConfigSource::load() {
  ConfigResult main = loadConfigFile(config_path_, env_);
  if (!main.config) return main;
  const std::optional<ShardSetting> setting = shard_flag_ ? shard_flag_ : main.config->shard_setting;
  TargetFilesResult all = addTargetFiles(std::move(*main.config), config_path_, env_);
  {
    std::lock_guard lock(mutex_);
    directories_ = all.directories;
  }
  if (!all.config) return {std::nullopt, all.error};
  if (setting) {
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    std::string error;
    const auto shard = resolveShard(*setting, hostname, env_("WSPROBE_SHARD_INDEX"), &error);
    if (!shard) {
      return {std::nullopt,
              (shard_flag_ ? std::string("--shard") : config_path_ + ": key 'agent.shard'") + ": " + error};
    }
    keepShard(*all.config, *shard);
  }
  return {std::move(all.config), ""};
}

std::vector<std::string> FileConfigSource::watchedDirectories() const {
  std::lock_guard lock(mutex_);
  return directories_;
}

}  // namespace wsprobe
