#include "shard.h"

#include <charconv>

namespace wsprobe {

namespace {

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// splitmix64's finaliser: spreads the shard number and the name's hash over
// all 64 bits, so that the per-shard weights of one name are independent.
std::uint64_t mix(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

std::optional<std::uint32_t> number(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<ShardSetting> parseShardSetting(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<ShardSetting> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail("must be \"K/N\" (this agent's shard K of N, from 0) or \"auto/N\"");
  }
  const auto count = number(text.substr(slash + 1));
  if (!count || *count < 1 || *count > kMaxShards) {
    return fail("the number of shards N in \"K/N\" must be between 1 and " + std::to_string(kMaxShards));
  }
  ShardSetting setting;
  setting.count = *count;
  const std::string_view index_text = text.substr(0, slash);
  if (index_text == "auto") return setting;
  const auto index = number(index_text);
  if (!index) return fail("the shard K in \"K/N\" must be a number from 0 or \"auto\"");
  if (*index >= *count) {
    return fail("the shard K in \"K/N\" counts from 0 and must be less than N (" + std::to_string(*count) +
                ")");
  }
  setting.index = *index;
  return setting;
}

std::optional<Shard> resolveShard(const ShardSetting& setting, std::string_view hostname,
                                  const std::optional<std::string>& ordinal_env, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<Shard> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  if (setting.index) return Shard{*setting.index, setting.count};
  std::optional<std::uint32_t> ordinal;
  std::string from;
  if (ordinal_env) {
    ordinal = number(*ordinal_env);
    from = "WSPROBE_SHARD_INDEX \"" + *ordinal_env + "\"";
    if (!ordinal) return fail("auto: " + from + " is not a number");
  } else {
    const auto dash = hostname.rfind('-');
    if (dash != std::string_view::npos) ordinal = number(hostname.substr(dash + 1));
    from = "host name \"" + std::string(hostname) + "\"";
    if (!ordinal) {
      return fail("auto: the " + from +
                  " does not end in -<number> (a StatefulSet pod's ordinal); "
                  "set WSPROBE_SHARD_INDEX");
    }
  }
  if (*ordinal >= setting.count) {
    return fail("auto: shard " + std::to_string(*ordinal) + " (from the " + from + ") is not less than " +
                std::to_string(setting.count) + " shards: scale the StatefulSet and N together");
  }
  return Shard{*ordinal, setting.count};
}

std::uint32_t shardOf(std::string_view name, std::uint32_t count) {
  const std::uint64_t key = fnv1a(name);
  std::uint32_t best = 0;
  std::uint64_t best_weight = 0;
  for (std::uint32_t shard = 0; shard < count; ++shard) {
    const std::uint64_t weight = mix(key ^ mix(shard));
    if (shard == 0 || weight > best_weight) {
      best = shard;
      best_weight = weight;
    }
  }
  return best;
}

std::string formatShard(const Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

}  // namespace wsprobe
