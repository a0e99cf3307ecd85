// A table header that does not start with a key.
//
// toml++ 3.4.0's parser assumes (TOML_ASSERT_ASSUME) that a key follows the
// '[' or '[[' of a table header and its spaces: `[!]` failed an assertion in
// a build with assertions (found by fuzz/config_fuzzer under AddressSanitizer)
// and is undefined behaviour with NDEBUG. scripts/debian-source/
// tomlplusplus-table-header-key.patch checks first; with it each case is a
// parse error naming the place.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

#include "agent/config.h"

using namespace wsprobe;

namespace {

struct MalformedCase {
  std::string text;
  const char* error_prefix;  // file:line:column of the place
};

// Each text is a parse error at its place, whose message says `expected`.
void checkParseErrors(std::initializer_list<MalformedCase> cases, const char* expected) {
  for (const MalformedCase& c : cases) {
    INFO(c.text);
    const ConfigResult result =
        parseConfig(c.text, "wsprobe.toml", [](std::string_view) { return std::nullopt; });
    CHECK_FALSE(result.config);
    INFO(result.error);
    CHECK(result.error.rfind(c.error_prefix, 0) == 0);
    CHECK(result.error.find(expected) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("config: a table header without a key is a parse error, not undefined behaviour", "[unit]") {
  checkParseErrors(
      {
          {"[!]\n", "wsprobe.toml:1:2: "},
          {"[[ #]]\n", "wsprobe.toml:1:4: "},
          {"[agent]\nlocation = \"fra1\"\n\n[" + std::string(1, '\0') + "]\n", "wsprobe.toml:4:2: "},
      },
      "expected a key");
}

// The same kind of assumption one level down: parse_value() assumes a value
// starts where parse_array() calls it, and `}` (or a whitespace character that
// is not TOML's) does not start one. `a = [}` failed the assertion in CI's
// fuzz run; scripts/debian-source/tomlplusplus-array-value.patch checks first.
TEST_CASE("config: an array element that starts with a terminator is a parse error, not undefined behaviour",
          "[unit]") {
  checkParseErrors(
      {
          {"a = [}\n", "wsprobe.toml:1:6: "},
          {"[agent]\nlocation = [\"fra1\", }]\n", "wsprobe.toml:2:21: "},
          {"s =\t\t[[}2b\nnes[[}2b\ns = \"124#\n", "wsprobe.toml:1:8: "},
      },
      "expected value or closing ']', saw '}'");
}
