// The protected listener: HTTPS with a certificate and key from files, and
// basic auth with bcrypt hashes on every path, /metrics included. A real
// Agent on 127.0.0.1:0; curl is the client, as a scraper or a person would be.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/basic_auth.h"
#include "agent/config.h"
#include "testbed/self_signed_certificate.h"
#include "support/child_process.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::testing::runCommand;
using wsprobe::testing::TempDir;

struct Fetched {
  int curl_exit = -1;
  int status = 0;
  std::string headers;
  std::string body;
};

Fetched fetch(const TempDir& dir, const std::string& url, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-o", dir.file("body"),
                                   "-D", dir.file("headers"), "-w", "%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  std::remove(dir.file("body").c_str());
  std::remove(dir.file("headers").c_str());
  const auto result = runCommand(argv, 20s);
  Fetched out;
  out.curl_exit = result.exit_code;
  out.status = std::atoi(result.output.c_str());
  out.headers = wsprobe::testing::readFile(dir.file("headers"));
  out.body = wsprobe::testing::readFile(dir.file("body"));
  return out;
}

std::unique_ptr<wsprobe::Agent> startAgent(const std::string& config_text, std::string* error) {
  wsprobe::Agent::Options options;
  options.load_config = [config_text] {
    return wsprobe::parseConfig(config_text, "web-security.toml", wsprobe::processEnvironment());
  };
  options.listen_address = "127.0.0.1:0";
  auto agent = std::make_unique<wsprobe::Agent>(std::move(options));
  if (auto failed = agent->start()) {
    *error = *failed;
    return nullptr;
  }
  return agent;
}

std::string webSection(const wsprobe::endpoints::CertificateFiles* tls,
                       const std::string& user, const std::string& hash) {
  std::string text = "[web]\nlisten_address = \"127.0.0.1:0\"\n";
  if (tls) {
    text += "tls_cert_file = \"" + tls->cert_file + "\"\ntls_key_file = \"" + tls->key_file + "\"\n";
  }
  if (!user.empty()) text += "[web.basic_auth_users]\n" + user + " = \"" + hash + "\"\n";
  return text;
}

}  // namespace

TEST_CASE("HTTPS with basic auth: every path answers 401 without the right credentials",
          "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  TempDir dir;
  const auto tls = wsprobe::endpoints::writeSelfSignedCertificate(dir.path());
  const auto hash = wsprobe::bcryptHash("correct horse", 4);
  REQUIRE(hash);
  std::string error;
  auto agent = startAgent(webSection(&tls, "prometheus", *hash), &error);
  REQUIRE(agent);
  const std::string base = "https://127.0.0.1:" + std::to_string(agent->port());
  const std::vector<std::string> ca = {"--cacert", tls.cert_file};
  const auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), ca.begin(), ca.end());
    return extra;
  };

  for (const std::string path : {"/metrics", "/", "/api/v1/targets", "/api/v1/events", "/-/healthy",
                                 "/-/ready", "/no-such-page"}) {
    INFO("path " << path);
    const Fetched anonymous = fetch(dir, base + path, with({}));
    CHECK(anonymous.curl_exit == 0);
    CHECK(anonymous.status == 401);
    CHECK(anonymous.headers.find("WWW-Authenticate: Basic realm=\"wsprobe\"") != std::string::npos);
    CHECK(anonymous.body.find("wsprobe_") == std::string::npos);

    CHECK(fetch(dir, base + path, with({"-u", "prometheus:wrong horse"})).status == 401);
    CHECK(fetch(dir, base + path, with({"-u", "mallory:correct horse"})).status == 401);
    CHECK(fetch(dir, base + path, with({"-H", "Authorization: Bearer correct horse"})).status == 401);

    const Fetched allowed = fetch(dir, base + path, with({"-u", "prometheus:correct horse"}));
    CHECK(allowed.curl_exit == 0);
    CHECK(allowed.status == (path == "/no-such-page" ? 404 : 200));
  }
  const Fetched metrics = fetch(dir, base + "/metrics", with({"-u", "prometheus:correct horse"}));
  CHECK(metrics.body.find("wsprobe_build_info{") != std::string::npos);

  // A state change is protected too.
  CHECK(fetch(dir, base + "/-/reload", with({"-X", "POST"})).status == 401);
  CHECK(fetch(dir, base + "/-/reload", with({"-X", "POST", "-u", "prometheus:correct horse"})).status == 200);
}

TEST_CASE("HTTPS: a scrape verifies the certificate with the CA and fails without it",
          "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  TempDir dir;
  const auto tls = wsprobe::endpoints::writeSelfSignedCertificate(dir.path());
  std::string error;
  auto agent = startAgent(webSection(&tls, "", ""), &error);
  REQUIRE(agent);
  const std::string port = std::to_string(agent->port());

  const Fetched verified = fetch(dir, "https://127.0.0.1:" + port + "/metrics", {"--cacert", tls.cert_file});
  CHECK(verified.curl_exit == 0);
  CHECK(verified.status == 200);
  CHECK(verified.body.find("wsprobe_build_info{") != std::string::npos);
  // The name in the certificate is checked too: localhost is in its SANs.
  CHECK(fetch(dir, "https://localhost:" + port + "/-/healthy", {"--cacert", tls.cert_file}).status == 200);

  const Fetched untrusted = fetch(dir, "https://127.0.0.1:" + port + "/metrics");
  CHECK(untrusted.curl_exit == 60);  // peer certificate cannot be authenticated
  CHECK(untrusted.status == 0);

  // TLS 1.2 is the floor.
  CHECK(fetch(dir, "https://127.0.0.1:" + port + "/metrics",
              {"--cacert", tls.cert_file, "--tlsv1.1", "--tls-max", "1.1"})
            .status == 0);
  // Plain HTTP on the TLS port gets no page.
  CHECK(fetch(dir, "http://127.0.0.1:" + port + "/metrics").status != 200);
}

TEST_CASE("basic auth without TLS: plain HTTP still requires the password", "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  TempDir dir;
  const auto hash = wsprobe::bcryptHash("s3cret", 4);
  REQUIRE(hash);
  std::string error;
  auto agent = startAgent(webSection(nullptr, "alice", *hash), &error);
  REQUIRE(agent);
  const std::string url = "http://127.0.0.1:" + std::to_string(agent->port()) + "/metrics";
  CHECK(fetch(dir, url).status == 401);
  CHECK(fetch(dir, url, {"-u", "alice:s3cre"}).status == 401);
  CHECK(fetch(dir, url, {"-u", "alice:s3cret"}).status == 200);
}

TEST_CASE("a key that does not match the certificate, or a hash that is not bcrypt, stops the start",
          "[integration][web]") {
  TempDir first;
  TempDir second;
  const auto tls = wsprobe::endpoints::writeSelfSignedCertificate(first.path());
  const auto other = wsprobe::endpoints::writeSelfSignedCertificate(second.path());
  wsprobe::endpoints::CertificateFiles mismatched{tls.cert_file, other.key_file};
  std::string error;
  CHECK_FALSE(startAgent(webSection(&mismatched, "", ""), &error));
  CHECK(error.find(other.key_file) != std::string::npos);

  error.clear();
  const std::string not_bcrypt = "$6$rounds=5000$saltsalt$notbcryptatall";
  CHECK_FALSE(startAgent(webSection(nullptr, "alice", not_bcrypt), &error));
  INFO(error);
  CHECK(error.find("alice") != std::string::npos);
  CHECK(error.find("saltsalt") == std::string::npos);  // the hash is never repeated
}
