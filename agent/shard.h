// Which share of the targets this agent holds (--shard=K/N, [agent] shard).
//
// N agents started with one configuration and shards 0/N .. N-1/N split the
// targets between them with no coordination: each keeps the targets whose
// name hashes to its own shard. The split is rendezvous hashing (highest
// random weight): a target goes to the shard with the highest hash of
// (target name, shard number). It depends on the target's name alone, so
// adding or removing a target moves no other target, and, unlike a hash mod
// N, growing from N to N+1 shards moves only the 1/(N+1) of the targets
// that the new shard wins (mod N would move about N/(N+1) of them). The hash
// is FNV-1a 64 finalised with splitmix64: fixed here, never std::hash, so
// every build and every machine splits the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsprobe {

// Shards are numbered 0..count-1, as StatefulSet pod ordinals are.
struct Shard {
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  bool operator==(const Shard&) const = default;
};

// "K/N" as written; index empty for "auto/N" (taken from the pod's ordinal).
struct ShardSetting {
  std::optional<std::uint32_t> index;
  std::uint32_t count = 1;
  bool operator==(const ShardSetting&) const = default;
};

inline constexpr std::uint32_t kMaxShards = 1000;

// Parses "K/N" (0 <= K < N <= kMaxShards) or "auto/N". Sets *error (a
// sentence without the value's origin) and returns std::nullopt when invalid.
std::optional<ShardSetting> parseShardSetting(std::string_view text, std::string* error);

// Resolves "auto" from `ordinal_env` (WSPROBE_SHARD_INDEX, when set) or else
// the trailing "-<number>" of `hostname` (a StatefulSet pod "wsprobe-2" is
// shard 2). A setting with an index is returned as is.
std::optional<Shard> resolveShard(const ShardSetting& setting, std::string_view hostname,
                                  const std::optional<std::string>& ordinal_env, std::string* error);

// The shard, of `count`, that holds the target called `name`.
std::uint32_t shardOf(std::string_view name, std::uint32_t count);

inline bool holds(const Shard& shard, std::string_view name) {
  return shard.count <= 1 || shardOf(name, shard.count) == shard.index;
}

std::string formatShard(const Shard& shard);  // "1/3"

}  // namespace wsprobe
