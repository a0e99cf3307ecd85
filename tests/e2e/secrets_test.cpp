// Secrets stay secret: a token planted through ${VAR} in a header and a
// password in URL userinfo are sent to the endpoints (checked: the test would
// prove nothing otherwise) and appear in none of what wsprobe shows: its log
// at debug level (text and JSON), the status page, the API, /metrics,
// --config.check output (success and failure) and its error messages.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testbed/misbehaving_endpoint.h"
#include "support/child_process.h"
#include "support/scrape.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::testing::ChildProcess;
using wsprobe::testing::readFile;
using wsprobe::testing::runCommand;
using wsprobe::testing::TempDir;
using wsprobe::testing::waitFor;

const std::string kToken = "tok7f3a9cSECRETheader";
const std::string kPassword = "pw51d2e8SECRETurl";
const std::string kFileToken = "ft93b0e1SECRETfile";  // read from a file: ${file:...}
const std::vector<std::string> kSecretEnv = {"WSPROBE_TEST_TOKEN=" + kToken,
                                             "WSPROBE_TEST_PASSWORD=" + kPassword};

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Every form in which a planted secret could leak.
std::vector<std::string> secretForms() {
  return {kToken, kPassword, "probe:" + kPassword, base64("probe:" + kPassword), kFileToken};
}

void requireNoSecret(const std::string& where, const std::string& text) {
  INFO(where << ":\n" << text);
  for (const auto& secret : secretForms()) CHECK(text.find(secret) == std::string::npos);
}

std::string curl(const std::string& url, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return runCommand(argv, 15s, true).output;
}

struct Endpoints {
  Endpoints() : closing(closingBehaviour()), refusing(refusingBehaviour()) {}
  static wsprobe::endpoints::EndpointBehaviour closingBehaviour() {
    wsprobe::endpoints::EndpointBehaviour behaviour;
    behaviour.close_after = 200ms;
    behaviour.close_codes = {4001};
    behaviour.close_reason = "bye";
    return behaviour;
  }
  static wsprobe::endpoints::EndpointBehaviour refusingBehaviour() {
    wsprobe::endpoints::EndpointBehaviour behaviour;
    behaviour.refuse_status = 401;
    return behaviour;
  }
  wsprobe::endpoints::MisbehavingEndpoint closing;
  wsprobe::endpoints::MisbehavingEndpoint refusing;
};

std::string configText(const Endpoints& endpoints, const std::string& extra_target_line = "",
                       const std::string& token_file = "/nonexistent/wsprobe-test-token") {
  return "[web]\nlisten_address = \"127.0.0.1:0\"\n"
         "[defaults]\nping_interval = \"500ms\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"300ms\"\n"
         "[[target]]\nname = \"with-header\"\nurl = \"" + endpoints.closing.url("/ws") + "\"\n"
         "headers = { Authorization = \"Bearer ${WSPROBE_TEST_TOKEN}\", X-Api-Key = \"${WSPROBE_TEST_TOKEN}\", "
         "X-File-Token = \"${file:" + token_file + "}\" }\n" +
         extra_target_line +
         "[[target]]\nname = \"with-userinfo\"\n"
         "url = \"ws://probe:${WSPROBE_TEST_PASSWORD}@127.0.0.1:" + std::to_string(endpoints.refusing.port()) +
         "/ws\"\n";
}

bool sawHeader(const wsprobe::endpoints::MisbehavingEndpoint& endpoint, const std::string& name,
               const std::string& value) {
  for (const auto& request : endpoint.requests()) {
    if (request.header(name) == value) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the configuration check shows no planted secret, on success or failure", "[e2e][secrets]") {
  Endpoints endpoints;
  TempDir dir;
  const auto check = [&](const std::string& text) {
    dir.write("wsprobe.toml", text);
    const auto result = runCommand({"env", kSecretEnv[0], kSecretEnv[1], WSPROBE_BINARY, "--config.check",
                                    "--config.file=" + dir.file("wsprobe.toml")},
                                   30s, true);
    return result;
  };

  const auto valid = check(configText(endpoints));
  CHECK(valid.exit_code == 0);
  CHECK(valid.output.find("SUCCESS") != std::string::npos);
  requireNoSecret("--config.check (valid)", valid.output);

  // An error in a target that holds the secrets.
  const auto unknown_key = check(configText(endpoints, "no_such_key = 1\n"));
  CHECK(unknown_key.exit_code == 1);
  CHECK(unknown_key.output.find("no_such_key") != std::string::npos);
  requireNoSecret("--config.check (unknown key)", unknown_key.output);

  // An error in the URL that holds the password itself.
  std::string bad_url = configText(endpoints);
  bad_url = std::regex_replace(bad_url, std::regex("@127\\.0\\.0\\.1:[0-9]+/ws"), "@127.0.0.1:notaport/ws");
  const auto invalid_url = check(bad_url);
  CHECK(invalid_url.exit_code == 1);
  CHECK(invalid_url.output.find("url") != std::string::npos);
  requireNoSecret("--config.check (invalid url)", invalid_url.output);

  // A header value whose expansion is refused (a line break in the secret).
  dir.write("wsprobe.toml", configText(endpoints));
  const auto broken_secret = runCommand(
      {"env", "WSPROBE_TEST_TOKEN=" + kToken + "\nInjected: 1", kSecretEnv[1], WSPROBE_BINARY,
       "--config.check", "--config.file=" + dir.file("wsprobe.toml")},
      30s, true);
  CHECK(broken_secret.exit_code == 1);
  requireNoSecret("--config.check (line break in a header value)", broken_secret.output);
}

TEST_CASE("the running daemon shows no planted secret in logs, page, API or metrics", "[e2e][secrets]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  for (const std::string format : {"text", "json"}) {
    DYNAMIC_SECTION("log format " << format) {
      Endpoints endpoints;
      TempDir dir;
      dir.write("token", kFileToken + "\n");
      dir.write("wsprobe.toml", configText(endpoints, "", dir.file("token")));
      const std::string log_file = dir.file("wsprobe.log");
      ChildProcess daemon({WSPROBE_BINARY, "--config.file=" + dir.file("wsprobe.toml"), "--log.level=debug",
                           "--log.format=" + format, "--web.listen-address=127.0.0.1:0"},
                          kSecretEnv, log_file);

      int port = 0;
      REQUIRE(waitFor(
          [&] {
            std::smatch match;
            const std::string log = readFile(log_file);
            if (std::regex_search(log, match, std::regex("\\(port ([0-9]+)\\)"))) port = std::stoi(match[1]);
            return port != 0;
          },
          10s));
      const std::string base = "http://127.0.0.1:" + std::to_string(port);

      // The secrets were really used: the header and the userinfo (as basic
      // auth) reached the endpoints.
      CHECK(endpoints.closing.waitUntil([&] { return sawHeader(endpoints.closing, "authorization", "Bearer " + kToken); }, 10s));
      CHECK(sawHeader(endpoints.closing, "x-api-key", kToken));
      CHECK(sawHeader(endpoints.closing, "x-file-token", kFileToken));
      CHECK(endpoints.refusing.waitUntil(
          [&] { return sawHeader(endpoints.refusing, "authorization", "Basic " + base64("probe:" + kPassword)); },
          10s));
      // Something happened worth logging: closes with a reason, refused upgrades.
      CHECK(waitFor(
          [&] {
            const std::string events = curl(base + "/api/v1/events");
            return events.find("\"code\":4001") != std::string::npos &&
                   events.find("\"status\":401") != std::string::npos;
          },
          10s));

      requireNoSecret("status page", curl(base + "/"));
      requireNoSecret("/api/v1/targets", curl(base + "/api/v1/targets"));
      requireNoSecret("/api/v1/events", curl(base + "/api/v1/events"));
      requireNoSecret("/metrics", curl(base + "/metrics"));

      // Reloads log the configuration's handling too.
      daemon.signal(SIGHUP);
      CHECK(curl(base + "/-/reload", {"-X", "POST"}).find("OK") != std::string::npos);
      daemon.signal(SIGTERM);
      CHECK(daemon.waitExit(10s) == 0);

      const std::string log = readFile(log_file);
      CHECK(log.find("with-header") != std::string::npos);    // the log is about these targets
      CHECK(log.find("debug") != std::string::npos);          // at debug level
      CHECK(log.find("configuration reloaded") != std::string::npos);
      requireNoSecret("daemon log (" + format + ")", log);
    }
  }
}

TEST_CASE("a start error shows no planted secret", "[e2e][secrets]") {
  Endpoints endpoints;
  TempDir dir;
  // The file is valid; the listener cannot start (no such port).
  dir.write("wsprobe.toml", configText(endpoints));
  const auto result = runCommand({"env", kSecretEnv[0], kSecretEnv[1], WSPROBE_BINARY,
                                  "--config.file=" + dir.file("wsprobe.toml"), "--log.level=debug",
                                  "--web.listen-address=127.0.0.1:notaport"},
                                 30s, true);
  CHECK(result.exit_code != 0);
  CHECK_FALSE(result.output.empty());
  requireNoSecret("start error", result.output);
}
