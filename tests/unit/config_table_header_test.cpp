// A table header that does not start with a key.
//
// toml++ 3.4.0's parser assumes (TOML_ASSERT_ASSUME) that a key follows the
// '[' or '[[' of a table header and its spaces: `[!]` failed an assertion in
// a build with assertions (found by fuzz/config_fuzzer under AddressSanitizer)
// and is undefined behaviour with NDEBUG. scripts/debian-source/
// tomlplusplus-table-header-key.patch checks first; with it each case is a
// parse error naming the place.
#include <catch2/catch.hpp>

#include <string>

#include "agent/config.h"

using namespace wsprobe;

TEST_CASE("config: a table header without a key is a parse error, not undefined behaviour", "[unit]") {
  struct Case {
    std::string text;
    const char* error_prefix;
  };
  const Case cases[] = {
      {"[!]\n", "wsprobe.toml:1:2: "},
      {"[[ #]]\n", "wsprobe.toml:1:4: "},
      {"[agent]\nlocation = \"fra1\"\n\n[" + std::string(1, '\0') + "]\n", "wsprobe.toml:4:2: "},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const ConfigResult result =
        parseConfig(c.text, "wsprobe.toml", [](std::string_view) { return std::nullopt; });
    CHECK_FALSE(result.config);
    CHECK(result.error.rfind(c.error_prefix, 0) == 0);
    CHECK(result.error.find("expected a key") != std::string::npos);
  }
}
