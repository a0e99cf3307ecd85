#include "agent/shard.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

using namespace wsprobe;

namespace {

std::vector<std::string> names(int count, const std::string& prefix = "target-") {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i) + ".example.com");
  return out;
}

}  // namespace

TEST_CASE("shard: 10,000 target names split within a few % of even", "[unit]") {
  // A fair random split of 10,000 names has a standard deviation per shard
  // of 1.0 % of even for 2 shards and 3.0 % for 10: allow about 2.5 of them.
  const auto all = names(10000);
  const std::pair<std::uint32_t, double> tolerances[] = {{2, 0.03}, {3, 0.04}, {7, 0.07}, {10, 0.08}};
  for (const auto& [count, tolerance] : tolerances) {
    std::map<std::uint32_t, int> per_shard;
    for (const auto& name : all) ++per_shard[shardOf(name, count)];
    REQUIRE(per_shard.size() == count);
    const double even = 10000.0 / count;
    for (const auto& [shard, held] : per_shard) {
      INFO("shards " << count << ", shard " << shard << " holds " << held << " (even: " << even << ")");
      CHECK(held > even * (1 - tolerance));
      CHECK(held < even * (1 + tolerance));
    }
  }
}

TEST_CASE("shard: adding targets moves no other target, a shard more moves "
    "only what it wins",
    "[unit]") {
  const auto before = names(2000);
  std::map<std::string, std::uint32_t> placed;
  for (const auto& name : before) placed[name] = shardOf(name, 4);
  // The placement is a function of the name alone: new names change nothing.
  for (const auto& name : names(3000, "added-")) (void)shardOf(name, 4);
  for (const auto& name : before) REQUIRE(shardOf(name, 4) == placed[name]);

  // Growing from 4 to 5 shards: every target that moves goes to the new
  // shard 4, and about a fifth move (mod N would move about four fifths).
  int moved = 0;
  for (const auto& name : before) {
    const std::uint32_t now = shardOf(name, 5);
    if (now != placed[name]) {
      REQUIRE(now == 4);
      ++moved;
    }
  }
  CHECK(moved > 2000 / 5 * 0.85);
  CHECK(moved < 2000 / 5 * 1.15);
}

TEST_CASE("shard: the hash is fixed, so every build splits the same way", "[unit]") {
  // Pinned values (also computed by tests/e2e/fleet_locations_test.py in
  // Python): a change here re-shards every fleet on upgrade.
  const std::map<std::string, std::uint32_t> pinned = {{"chat", 4}, {"feed", 3}, {"prices", 5}, {"a", 9}};
  for (const auto& [name, shard] : pinned) {
    INFO(name);
    CHECK(shardOf(name, 10) == shard);
  }
  CHECK(shardOf("anything", 1) == 0);
  CHECK(holds(Shard{0, 1}, "anything"));
}

TEST_CASE("shard: K/N and auto/N are parsed, bad settings explained", "[unit]") {
  std::string error;
  CHECK(parseShardSetting("0/1", &error) == ShardSetting{0u, 1});
  CHECK(parseShardSetting("2/3", &error) == ShardSetting{2u, 3});
  CHECK(parseShardSetting("auto/5", &error) == ShardSetting{std::nullopt, 5});
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"3", "must be \"K/N\""},     {"3/3", "less than N (3)"},      {"1/0", "between 1 and"},
      {"-1/3", "must be a number"}, {"a/3", "must be a number"},     {"1/", "between 1 and"},
      {"1/3x", "between 1 and"},    {"1/1001", "between 1 and 1000"}};
  for (const auto& [text, message] : bad) {
    INFO(text);
    error.clear();
    CHECK_FALSE(parseShardSetting(text, &error));
    CHECK_THAT(error, Catch::Contains(message));
  }
}

TEST_CASE("shard: auto takes the StatefulSet ordinal from the host name or "
    "WSPROBE_SHARD_INDEX",
    "[unit]") {
  std::string error;
  const ShardSetting automatic{std::nullopt, 3};
  CHECK(resolveShard(automatic, "wsprobe-2", std::nullopt, &error) == Shard{2, 3});
  CHECK(resolveShard(automatic, "wsprobe-fra1-0", std::nullopt, &error) == Shard{0, 3});
  CHECK(resolveShard(automatic, "anything", std::string("1"), &error) == Shard{1, 3});
  CHECK(resolveShard(ShardSetting{1u, 2}, "wsprobe-7", std::nullopt, &error) == Shard{1, 2});

  CHECK_FALSE(resolveShard(automatic, "wsprobe-3", std::nullopt, &error));
  CHECK_THAT(error, Catch::Contains("not less than 3 shards"));
  CHECK_FALSE(resolveShard(automatic, "laptop", std::nullopt, &error));
  CHECK_THAT(error, Catch::Contains("does not end in -<number>"));
  CHECK_FALSE(resolveShard(automatic, "wsprobe-1", std::string("x"), &error));
  CHECK_THAT(error, Catch::Contains("WSPROBE_SHARD_INDEX"));
  CHECK(formatShard(Shard{1, 3}) == "1/3");
}
