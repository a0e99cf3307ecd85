#include "probes/credential_template.h"

#include <catch2/catch.hpp>
#include <map>

using namespace wsprobe;

namespace {
FileReader fakeFiles(std::map<std::string, std::string> files) {
  return [files](const std::string& path, std::string& error) -> std::optional<std::string> {
    const auto found = files.find(path);
    if (found == files.end()) {
      error = "No such file or directory";
      return std::nullopt;
    }
    return found->second;
  };
}
}  // namespace

TEST_CASE("credential template: ${file:} references are replaced, one trailing newline stripped", "[unit]") {
  const auto read = fakeFiles({{"/run/secrets/token", "abc123\n"}, {"/run/b", "x\r\n"}});
  auto out = expandCredentialTemplate("Bearer ${file:/run/secrets/token}", read);
  CHECK(out.error.empty());
  CHECK(out.value == "Bearer abc123");
  out = expandCredentialTemplate("a=${file:/run/b}&c=${file:/run/secrets/token}", read);
  CHECK(out.value == "a=x&c=abc123");
  CHECK(expandCredentialTemplate("no reference", read).value == "no reference");
  CHECK_FALSE(hasFileReference("Bearer static"));
  CHECK(hasFileReference("Bearer ${file:/x}"));
}

TEST_CASE("credential template: a missing file names the file and yields no value", "[unit]") {
  const auto out = expandCredentialTemplate("Bearer ${file:/run/missing}", fakeFiles({}));
  CHECK(out.failed_file == "/run/missing");
  CHECK(out.error == "No such file or directory");
  CHECK(out.value.empty());
}

TEST_CASE("credential template: syntax is checked without reading files", "[unit]") {
  CHECK_FALSE(credentialTemplateProblem("Bearer ${file:/run/secrets/token}"));
  CHECK(credentialTemplateProblem("Bearer ${file:/run/secrets/token"));
  CHECK(credentialTemplateProblem("Bearer ${file:relative/path}"));
  CHECK(credentialTemplateProblem("Bearer ${file:}"));
}
