// What the HTTP listener enforces: TLS (with client certificates), basic
// auth and extra response headers. It comes from the TOML [web] table or
// from a --web.config.file in Prometheus' exporter-toolkit format
// (agent/web_config.h); all of it can change on reload except whether TLS is
// on at all.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wsprobe {

// exporter-toolkit's client_auth_type values, as Go's crypto/tls means them.
enum class ClientAuth {
  no_client_cert,                 // NoClientCert: none asked for
  request_client_cert,            // RequestClientCert: asked for, not required, not verified
  require_any_client_cert,        // RequireAnyClientCert: required, not verified
  verify_client_cert_if_given,    // VerifyClientCertIfGiven: optional, verified if sent
  require_and_verify_client_cert  // RequireAndVerifyClientCert: required and verified
};

enum class TlsVersion { tls10, tls11, tls12, tls13 };

struct TlsServerSettings {
  std::string cert_file;  // PEM; may hold the chain after the certificate
  std::string key_file;
  ClientAuth client_auth = ClientAuth::no_client_cert;
  std::string client_ca_file;  // PEM CAs that client certificates are verified against
  TlsVersion min_version = TlsVersion::tls12;
  std::optional<TlsVersion> max_version;  // unset: the highest this OpenSSL speaks
  // OpenSSL names of the TLS 1.2-and-below suites, in order; empty: OpenSSL's
  // defaults. (TLS 1.3 suites are not configurable, as in Go.)
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> curves;  // OpenSSL group names ("X25519", "P-256"); empty: defaults
  bool operator==(const TlsServerSettings&) const = default;
};

struct WebSecurity {
  std::optional<TlsServerSettings> tls;                 // set: HTTPS only
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash; empty: no auth
  std::map<std::string, std::string> headers;           // added to (or replacing) every response's
  bool operator==(const WebSecurity&) const = default;
};

}  // namespace wsprobe
