#include <catch2/catch.hpp>

#include "probes/url_credentials.h"

using wsprobe::basicAuthorization;
using wsprobe::percentDecode;

TEST_CASE("percent-encoding in URL userinfo is undone", "[unit]") {
  CHECK(percentDecode("p%40ss") == "p@ss");
  CHECK(percentDecode("a%3Ab%3ac") == "a:b:c"); // either case
  CHECK(percentDecode("%2F%25%20") == "/% ");
  CHECK(percentDecode("%00x") == std::string("\0x", 2));
  CHECK(percentDecode("plain") == "plain");
  CHECK(percentDecode("") == "");
  // Not an escape: kept as written.
  CHECK(percentDecode("100%") == "100%");
  CHECK(percentDecode("%4") == "%4");
  CHECK(percentDecode("%zz%4g") == "%zz%4g");
  CHECK(percentDecode("%%41") == "%A");
}

TEST_CASE("URL userinfo becomes a basic Authorization value, decoded",
          "[unit]") {
  CHECK(basicAuthorization("") == "");
  CHECK(basicAuthorization("probe:pa55") == "Basic cHJvYmU6cGE1NQ==");
  CHECK(basicAuthorization("bob:p%40ss") == "Basic Ym9iOnBAc3M="); // bob:p@ss
  CHECK(basicAuthorization("pr%20obe:p%40ss%3aw%2Frd") ==
        "Basic cHIgb2JlOnBAc3M6dy9yZA==");                // pr obe:p@ss:w/rd
  CHECK(basicAuthorization("user:") == "Basic dXNlcjo="); // empty password
  CHECK(basicAuthorization("user") ==
        "Basic dXNlcg=="); // no password at all: sent as it is
  CHECK(basicAuthorization("%C3%A9:x") == "Basic w6k6eA=="); // UTF-8 "é:x"
}
