// The exporter-toolkit web configuration: what each key becomes, and errors
// that name the file, line and key.
#include "agent/web_config.h"

#include <catch2/catch.hpp>

#include "agent/basic_auth.h"

using namespace wsprobe;

namespace {

WebConfigResult parse(const std::string& text) { return parseWebConfig(text, "web.yml", "/etc/wsprobe"); }

}  // namespace

TEST_CASE("web config: every supported key becomes a listener setting", "[unit][web]") {
  const auto hash = bcryptHash("pw", 4);
  REQUIRE(hash);
  const auto result = parse(R"(tls_server_config:
  cert_file: server.pem
  key_file: /keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: clients.pem
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: deny
basic_auth_users:
  prometheus: ')" + *hash + "'\n");
  INFO(result.error);
  REQUIRE(result.security);
  const WebSecurity& security = *result.security;
  REQUIRE(security.tls);
  CHECK(security.tls->cert_file == "/etc/wsprobe/server.pem");  // relative to the file's directory
  CHECK(security.tls->key_file == "/keys/server.key");
  CHECK(security.tls->client_ca_file == "/etc/wsprobe/clients.pem");
  CHECK(security.tls->client_auth == ClientAuth::require_and_verify_client_cert);
  CHECK(security.tls->min_version == TlsVersion::tls12);
  CHECK(security.tls->max_version == TlsVersion::tls13);
  CHECK(security.tls->cipher_suites ==
        std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"});
  CHECK_FALSE(security.tls->prefer_server_cipher_suites);
  CHECK(security.tls->curves == std::vector<std::string>{"X25519", "P-256"});
  CHECK(security.headers.at("Strict-Transport-Security") == "max-age=31536000");
  CHECK(security.headers.at("X-Frame-Options") == "deny");
  CHECK(security.basic_auth_users.at("prometheus") == *hash);
}

TEST_CASE("web config: an empty file means plain HTTP without auth", "[unit][web]") {
  const auto result = parse("");
  REQUIRE(result.security);
  CHECK_FALSE(result.security->tls);
  CHECK(result.security->basic_auth_users.empty());
}

TEST_CASE("web config: each client_auth_type by its exporter-toolkit name", "[unit][web]") {
  const std::pair<const char*, ClientAuth> cases[] = {
      {"NoClientCert", ClientAuth::no_client_cert},
      {"RequestClientCert", ClientAuth::request_client_cert},
      {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
      {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
      {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert},
  };
  for (const auto& [name, expected] : cases) {
    const bool verifies = expected == ClientAuth::verify_client_cert_if_given ||
                          expected == ClientAuth::require_and_verify_client_cert;
    const auto result =
        parse(std::string("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: ") + name +
              (verifies ? "\n  client_ca_file: ca\n" : "\n"));
    INFO(name << ": " << result.error);
    REQUIRE(result.security);
    CHECK(result.security->tls->client_auth == expected);
  }
}

TEST_CASE("web config: mistakes name the file, line, column and key", "[unit][web]") {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"tls_server_confg:\n  cert_file: c\n", "web.yml:1:1: key 'tls_server_confg': unknown key"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  keyfile: x\n",
       "web.yml:4:3: key 'tls_server_config.keyfile': unknown key in tls_server_config"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_allowed_sans: [a]\n",
       "key 'tls_server_config.client_allowed_sans': is not supported by wsprobe"},
      {"tls_server_config:\n  cert_file: c\n", "key 'tls_server_config.key_file': is required"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireClientCertPlease\n",
       "web.yml:4:21: key 'tls_server_config.client_auth_type': must be one of"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n",
       "key 'tls_server_config.client_ca_file': is required to verify client certificates"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
       "client_auth_type is NoClientCert"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS1.2\n",
       "key 'tls_server_config.min_version': must be one of TLS10, TLS11, TLS12, TLS13"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: TLS12\n",
       "max_version': is below min_version"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_FOO]\n",
       "unknown cipher suite 'TLS_FOO'"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "is a TLS 1.3 suite"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  curve_preferences: [P256]\n",
       "unknown curve 'P256'"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  prefer_server_cipher_suites: maybe\n",
       "must be true or false"},
      {"http_server_config:\n  headers:\n    Server: wsprobe\n",
       "web.yml:3:5: key 'http_server_config.headers.Server': this header cannot be configured"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "must be one of deny, sameorigin"},
      {"http_server_config:\n  http2: true\n", "HTTP/2 is not supported"},
      {"basic_auth_users:\n  alice: $6$saltsalt$notbcrypt\n",
       "web.yml:2:10: key 'basic_auth_users.alice': must be a bcrypt hash"},
      {"tls_server_config: [\n", "web.yml:2:1: "},
      {"- a\n- b\n", "must be a mapping"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    const auto result = parse(text);
    CHECK_FALSE(result.security);
    CHECK_THAT(result.error, Catch::Contains(expected));
    CHECK_THAT(result.error, !Catch::Contains("saltsalt"));  // hashes are never repeated
  }
}

TEST_CASE("web config: the TOML [web] keys, or the web config file, not both", "[unit][web]") {
  WebConfig toml;
  toml.tls_cert_file = "/c.pem";
  toml.tls_key_file = "/k.pem";
  const auto from_toml = resolveWebSecurity(toml, "");
  REQUIRE(from_toml.security);
  REQUIRE(from_toml.security->tls);
  CHECK(from_toml.security->tls->cert_file == "/c.pem");
  CHECK(from_toml.security->tls->min_version == TlsVersion::tls12);

  const auto missing = resolveWebSecurity(WebConfig{}, "/nonexistent/web.yml");
  CHECK_FALSE(missing.security);
  CHECK_THAT(missing.error, Catch::Contains("/nonexistent/web.yml"));
}
