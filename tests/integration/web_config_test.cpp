// --web.config.file (exporter-toolkit format) on a real Agent: client
// certificates, basic auth, configured headers, reload, gzip. curl is the
// client; the certificates are made here with openssl.
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
#include "support/child_process.h"
#include "support/scrape.h"

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
  std::vector<std::string> argv = {"curl",           "-sS", "--max-time",        "10", "-o",
                                   dir.file("body"), "-D",  dir.file("headers"), "-w", "%{http_code}"};
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

void openssl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const auto result = runCommand(argv, 30s, true);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
}

// A CA (NAME.pem, NAME.key) in `dir`.
void makeCa(const TempDir& dir, const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           dir.file(name + ".key"), "-out", dir.file(name + ".pem"), "-days", "2", "-subj",
           "/CN=wsprobe test " + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

// A certificate NAME.pem / NAME.key signed by CA, for a server on 127.0.0.1
// or for a client.
void makeLeaf(const TempDir& dir, const std::string& name, const std::string& ca, bool server) {
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           dir.file(name + ".key"), "-out", dir.file(name + ".csr"), "-subj", "/CN=" + name});
  dir.write(name + ".ext", server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                                  : "extendedKeyUsage=clientAuth\n");
  openssl({"x509", "-req", "-in", dir.file(name + ".csr"), "-CA", dir.file(ca + ".pem"), "-CAkey",
           dir.file(ca + ".key"), "-CAcreateserial", "-out", dir.file(name + ".pem"), "-days", "2",
           "-extfile", dir.file(name + ".ext")});
}

std::unique_ptr<wsprobe::Agent> startAgent(const std::string& web_config_file, std::string* error,
                                           const std::string& toml_web = "") {
  wsprobe::Agent::Options options;
  const std::string toml = "[web]\nlisten_address = \"127.0.0.1:0\"\n" + toml_web;
  options.load_config = [toml] {
    return wsprobe::parseConfig(toml, "web-config-test.toml", wsprobe::processEnvironment());
  };
  options.web_config_file = web_config_file;
  auto agent = std::make_unique<wsprobe::Agent>(std::move(options));
  if (auto failed = agent->start()) {
    *error = *failed;
    return nullptr;
  }
  return agent;
}

std::string tlsSection(const TempDir& dir, const std::string& client_auth) {
  std::string text =
      "tls_server_config:\n  cert_file: server.pem\n  key_file: " + dir.file("server.key") + "\n";
  if (!client_auth.empty()) text += "  client_auth_type: " + client_auth + "\n  client_ca_file: ca.pem\n";
  return text;
}

}  // namespace

TEST_CASE("web config: RequireAndVerifyClientCert takes only certificates from the client CA",
          "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  REQUIRE(wsprobe::testing::haveProgram("openssl"));
  TempDir dir;
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  makeLeaf(dir, "server", "ca", true);
  makeLeaf(dir, "client", "ca", false);
  makeLeaf(dir, "stranger", "other-ca", false);
  dir.write("web.yml", tlsSection(dir, "RequireAndVerifyClientCert"));
  std::string error;
  auto agent = startAgent(dir.file("web.yml"), &error);
  INFO(error);
  REQUIRE(agent);
  const std::string url = "https://127.0.0.1:" + std::to_string(agent->port()) + "/metrics";
  const std::vector<std::string> trust = {"--cacert", dir.file("ca.pem")};
  const auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), trust.begin(), trust.end());
    return extra;
  };

  const Fetched anonymous = fetch(dir, url, with({}));
  CHECK(anonymous.curl_exit != 0);
  CHECK(anonymous.status == 0);
  const Fetched stranger =
      fetch(dir, url, with({"--cert", dir.file("stranger.pem"), "--key", dir.file("stranger.key")}));
  CHECK(stranger.curl_exit != 0);
  CHECK(stranger.status == 0);
  const Fetched client =
      fetch(dir, url, with({"--cert", dir.file("client.pem"), "--key", dir.file("client.key")}));
  CHECK(client.curl_exit == 0);
  CHECK(client.status == 200);
  CHECK(client.body.find("wsprobe_build_info{") != std::string::npos);
  // The same with TLS 1.2, where the certificate request differs.
  const Fetched tls12 =
      fetch(dir, url,
            with({"--tls-max", "1.2", "--cert", dir.file("client.pem"), "--key", dir.file("client.key")}));
  CHECK(tls12.status == 200);
  CHECK(fetch(dir, url, with({"--tls-max", "1.2"})).status == 0);
}

TEST_CASE("web config: basic auth users and configured headers", "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  TempDir dir;
  const auto hash = wsprobe::bcryptHash("correct horse", 4);
  REQUIRE(hash);
  dir.write("web.yml",
            "basic_auth_users:\n  prometheus: '" + *hash +
                "'\nhttp_server_config:\n  headers:\n    Strict-Transport-Security: max-age=63072000\n"
                "    X-Frame-Options: deny\n");
  std::string error;
  auto agent = startAgent(dir.file("web.yml"), &error);
  INFO(error);
  REQUIRE(agent);
  const std::string url = "http://127.0.0.1:" + std::to_string(agent->port()) + "/metrics";

  const Fetched anonymous = fetch(dir, url);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.headers.find("Strict-Transport-Security: max-age=63072000") != std::string::npos);
  CHECK(fetch(dir, url, {"-u", "prometheus:wrong horse"}).status == 401);
  const Fetched allowed = fetch(dir, url, {"-u", "prometheus:correct horse"});
  CHECK(allowed.status == 200);
  CHECK(allowed.headers.find("Strict-Transport-Security: max-age=63072000\r\n") != std::string::npos);
  CHECK(allowed.headers.find("X-Frame-Options: deny\r\n") != std::string::npos);
  CHECK(allowed.headers.find("X-Content-Type-Options: nosniff\r\n") !=
        std::string::npos);  // the defaults stay

  // Users in the TOML file as well: two sources of truth, no start.
  std::string both_error;
  CHECK_FALSE(
      startAgent(dir.file("web.yml"), &both_error, "[web.basic_auth_users]\nalice = \"" + *hash + "\"\n"));
  CHECK_THAT(both_error, Catch::Contains("both configure the listener"));
}

TEST_CASE("web config: a reload applies a changed file, a broken one changes nothing", "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  REQUIRE(wsprobe::testing::haveProgram("openssl"));
  TempDir dir;
  makeCa(dir, "ca");
  makeLeaf(dir, "server", "ca", true);
  makeLeaf(dir, "client", "ca", false);
  const auto first = wsprobe::bcryptHash("first", 4);
  const auto second = wsprobe::bcryptHash("second", 4);
  REQUIRE((first && second));
  dir.write("web.yml", tlsSection(dir, "") + "basic_auth_users:\n  alice: '" + *first + "'\n");
  std::string error;
  auto agent = startAgent(dir.file("web.yml"), &error);
  INFO(error);
  REQUIRE(agent);
  const std::string url = "https://127.0.0.1:" + std::to_string(agent->port()) + "/metrics";
  const std::vector<std::string> trust = {"--cacert", dir.file("ca.pem")};
  const auto as = [&](const std::string& credentials, bool certificate = false) {
    std::vector<std::string> extra = trust;
    extra.insert(extra.end(), {"-u", credentials});
    if (certificate)
      extra.insert(extra.end(), {"--cert", dir.file("client.pem"), "--key", dir.file("client.key")});
    return fetch(dir, url, extra).status;
  };
  CHECK(as("alice:first") == 200);
  CHECK(as("alice:second") == 401);

  // New password and client certificates required, on the same port.
  dir.write("web.yml", tlsSection(dir, "RequireAndVerifyClientCert") + "basic_auth_users:\n  alice: '" +
                           *second + "'\n");
  const auto reloaded = agent->reload();
  CHECK_FALSE(reloaded);
  CHECK(as("alice:second") == 0);  // no certificate: no TLS session
  CHECK(as("alice:first", true) == 401);
  CHECK(as("alice:second", true) == 200);
  CHECK(wsprobe::testing::sampleValue(agent->renderMetrics(), "wsprobe_config_last_reload_successful") == 1);

  // A broken file: the reload fails, says so, and the listener stays as it was.
  dir.write("web.yml",
            tlsSection(dir, "RequireAndVerifyClientCert") + "basic_auth_user:\n  alice: '" + *first + "'\n");
  const auto broken = agent->reload();
  REQUIRE(broken);
  CHECK_THAT(*broken, Catch::Contains("basic_auth_user"));
  CHECK(wsprobe::testing::sampleValue(agent->renderMetrics(), "wsprobe_config_last_reload_successful") == 0);
  CHECK(as("alice:second", true) == 200);
  CHECK(as("alice:first", true) == 401);

  // Switching TLS off is refused too (it takes a restart), and says why.
  dir.write("web.yml", "basic_auth_users:\n  alice: '" + *first + "'\n");
  const auto plain = agent->reload();
  REQUIRE(plain);
  CHECK_THAT(*plain, Catch::Contains("restart"));
  CHECK(as("alice:second", true) == 200);
}

TEST_CASE("/metrics is gzip-compressed for clients that accept it", "[integration][web]") {
  REQUIRE(wsprobe::testing::haveProgram("curl"));
  TempDir dir;
  std::string error;
  auto agent = startAgent("", &error);
  REQUIRE(agent);
  const std::string url = "http://127.0.0.1:" + std::to_string(agent->port()) + "/metrics";

  const Fetched plain = fetch(dir, url);
  CHECK(plain.status == 200);
  CHECK(plain.headers.find("Content-Encoding") == std::string::npos);
  CHECK(plain.headers.find("Vary: Accept-Encoding\r\n") != std::string::npos);
  CHECK(plain.body.find("wsprobe_build_info{") != std::string::npos);

  // Raw: the bytes on the wire are gzip.
  const Fetched raw = fetch(dir, url, {"-H", "Accept-Encoding: gzip"});
  CHECK(raw.status == 200);
  CHECK(raw.headers.find("Content-Encoding: gzip\r\n") != std::string::npos);
  REQUIRE(raw.body.size() > 2);
  CHECK(static_cast<unsigned char>(raw.body[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(raw.body[1]) == 0x8b);
  CHECK(raw.body.size() < plain.body.size());
  // Decoded by curl: the same exposition.
  const Fetched decoded = fetch(dir, url, {"--compressed"});
  CHECK(decoded.headers.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CHECK(decoded.body.find("wsprobe_build_info{") != std::string::npos);
  // Refused explicitly: plain.
  CHECK(fetch(dir, url, {"-H", "Accept-Encoding: gzip;q=0, identity"}).headers.find("Content-Encoding") ==
        std::string::npos);
}
