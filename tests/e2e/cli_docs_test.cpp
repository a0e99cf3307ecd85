// The command line's companions: `wsprobe hash-password`, the man page and
// the bash completion, both written by the binary from its own CLI
// definition (so they cannot drift from --help; these tests check that they
// did not, and that they work).
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "agent/basic_auth.h"
#include "support/child_process.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::testing::runCommand;
using wsprobe::testing::TempDir;

std::string shellQuoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::set<std::string> longOptions(const std::string& text) {
  static const std::regex option(R"(--[a-z][a-z0-9.-]*[a-z0-9])");
  std::set<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it) {
    found.insert(it->str());
  }
  return found;
}

// The generated files, written again into `dir` by the binary under test.
void writeDocs(const TempDir& dir) {
  const auto result = runCommand({WSPROBE_BINARY, "--internal.write-man-page=" + dir.file("wsprobe.1"),
                                  "--internal.write-bash-completion=" + dir.file("wsprobe.bash")},
                                 20s, true);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
}

// COMPREPLY for the words typed so far (the last one is being completed).
std::string complete(const TempDir& dir, const std::string& words) {
  const std::string script =
      "source " + shellQuoted(dir.file("wsprobe.bash")) + "\nCOMP_WORDS=(" + words +
      ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_wsprobe\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
  const auto result = runCommand({"bash", "--norc", "--noprofile", "-c", script}, 20s, true);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  return result.output;
}

}  // namespace

TEST_CASE("hash-password reads a line from stdin and prints a bcrypt hash that checks", "[e2e][cli]") {
  const auto hashed = runCommand(
      {"sh", "-c", "printf 'correct horse\\n' | " + shellQuoted(WSPROBE_BINARY) + " hash-password --cost 4"},
      20s);
  REQUIRE(hashed.exit_code == 0);
  std::string hash = hashed.output;
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  CHECK(hash.rfind("$2b$04$", 0) == 0);
  wsprobe::BasicAuthenticator authenticator({{"prometheus", hash}});
  CHECK_FALSE(authenticator.validate());
  CHECK(authenticator.allows("Basic cHJvbWV0aGV1czpjb3JyZWN0IGhvcnNl"));        // prometheus:correct horse
  CHECK_FALSE(authenticator.allows("Basic cHJvbWV0aGV1czpjb3JyZWN0IGhvcnM="));  // prometheus:correct hors

  const auto cost =
      runCommand({"sh", "-c", "echo pw | " + shellQuoted(WSPROBE_BINARY) + " hash-password"}, 20s);
  CHECK(cost.output.rfind("$2b$10$", 0) == 0);  // cost 10 by default
  const auto empty =
      runCommand({"sh", "-c", "printf '\\n' | " + shellQuoted(WSPROBE_BINARY) + " hash-password"}, 20s);
  CHECK(empty.exit_code == 1);
  CHECK(empty.output.empty());
}

TEST_CASE("the man page lists every option and command of --help, and man renders it", "[e2e][cli]") {
  TempDir dir;
  writeDocs(dir);
  const std::string page = wsprobe::testing::readFile(dir.file("wsprobe.1"));
  REQUIRE_FALSE(page.empty());
  // roff spells '-' as '\-'.
  const std::string plain = std::regex_replace(page, std::regex(R"(\\-)"), "-");
  for (const std::string command : {"", "demo", "diagnose", "hash-password"}) {
    std::vector<std::string> argv = {WSPROBE_BINARY};
    if (!command.empty()) argv.push_back(command);
    argv.push_back("--help");
    const auto help = runCommand(argv, 20s);
    REQUIRE(help.exit_code == 0);
    for (const auto& option : longOptions(help.output)) {
      INFO("`wsprobe " << command << " --help` lists " << option);
      CHECK(plain.find(option) != std::string::npos);
    }
    if (!command.empty()) CHECK(plain.find(".SS \"wsprobe " + command + "\"") != std::string::npos);
  }
  CHECK(plain.find("internal.") == std::string::npos);  // hidden options stay hidden

  if (wsprobe::testing::haveProgram("man")) {
    const auto rendered = runCommand(
        {"sh", "-c", "MANWIDTH=100 man -l " + shellQuoted(dir.file("wsprobe.1")) + " 2>&1 | col -b"}, 30s);
    CHECK(rendered.exit_code == 0);
    CHECK(rendered.output.find("--web.config.file") != std::string::npos);
    CHECK(rendered.output.find("hash-password") != std::string::npos);
    CHECK(rendered.output.find("warning") == std::string::npos);
  }
}

TEST_CASE("bash completion offers the subcommands, their options and file names", "[e2e][cli]") {
  REQUIRE(wsprobe::testing::haveProgram("bash"));
  TempDir dir;
  writeDocs(dir);
  const std::string top = complete(dir, "wsprobe ''");
  for (const char* word :
       {"demo\n", "diagnose\n", "hash-password\n", "--config.file\n", "--web.config.file\n"}) {
    CHECK(top.find(word) != std::string::npos);
  }
  CHECK(complete(dir, "wsprobe hash") == "hash-password\n");
  const std::string diagnose = complete(dir, "wsprobe diagnose --d");
  CHECK(diagnose == "--duration\n");
  CHECK(complete(dir, "wsprobe demo --web.l").find("--web.listen-address") != std::string::npos);
  // Options that take a file complete file names, with or without '='.
  dir.write("web-config.yml", "");
  const std::string prefix = dir.file("web-con");
  CHECK(complete(dir, "wsprobe --web.config.file " + shellQuoted(prefix)).find("web-config.yml") !=
        std::string::npos);
  CHECK(complete(dir, "wsprobe --web.config.file = " + shellQuoted(prefix)).find("web-config.yml") !=
        std::string::npos);
}
