// Non-ASCII text where TOML wants a value, a key or the end of a line.
//
// toml++ 3.3.0 (Debian 12) and 3.4.0 (Debian 13) ask, for such a character,
// whether it is whitespace, and for the characters of U+00A0-U+0499,
// U+2F5E-U+3357 and U+FCF6-U+FFFF that are not, that function reaches
// __builtin_unreachable(): undefined behaviour. scripts/debian-source/
// tomlplusplus.sh applies upstream's one-line fix. Without the fix these
// cases fail under UndefinedBehaviorSanitizer ("execution reached an
// unreachable program point"); with it each is a parse error naming the place.
#include <catch2/catch.hpp>

#include <string>

#include "agent/config.h"

using namespace wsprobe;

namespace {

ConfigResult parse(const std::string& text) {
  return parseConfig(text, "wsprobe.toml", [](std::string_view) { return std::nullopt; });
}

}  // namespace

TEST_CASE("config: a sign before a non-ASCII letter is a parse error, not undefined behaviour", "[unit]") {
  const ConfigResult result = parse("a = -\xC7\x93");  // a = -Ǔ (U+01D3)
  REQUIRE_FALSE(result.config);
  CHECK(result.error == "wsprobe.toml:1:5: Error while parsing value: could not determine value type");
}

TEST_CASE("config: non-ASCII text around keys and values is a parse error naming its line", "[unit]") {
  struct Case {
    const char* text;
    const char* error_prefix;
  };
  const Case cases[] = {
      {"a = +\xC7\x93", "wsprobe.toml:1:5: "},                                  // +Ǔ
      {"a = -\xC2\xA7", "wsprobe.toml:1:5: "},                                  // -§ (U+00A7)
      {"a = 1\xE3\x80\x81", "wsprobe.toml:1:6: "},                              // 1、 (U+3001)
      {"a = \"x\"\xE3\x80\x81", "wsprobe.toml:1:8: "},                          // "x"、
      {"\xC7\x93 = 1", "wsprobe.toml:1:1: "},                                   // Ǔ as a key
      {"[agent]\nlocation = \"fra1\" \xEF\xB9\x90\n", "wsprobe.toml:2:19: "},  // U+FE50 after a value
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const ConfigResult result = parse(c.text);
    CHECK_FALSE(result.config);
    CHECK(result.error.rfind(c.error_prefix, 0) == 0);
  }
}
