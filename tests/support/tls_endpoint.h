// A wss:// misbehaving endpoint on 127.0.0.1:0 with a throwaway self-signed
// certificate, kept in a temporary directory that goes with it (also when a
// test stops early at a failed REQUIRE).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "testbed/misbehaving_endpoint.h"
#include "testbed/self_signed_certificate.h"

namespace wsprobe::testing {

class TlsEndpoint {
 public:
  explicit TlsEndpoint(endpoints::EndpointBehaviour behaviour = {}, int validity_days = 1)
      : directory_(makeDirectory()),
        certificate_(endpoints::writeSelfSignedCertificate(directory_.string(), validity_days)),
        server_(withCertificate(std::move(behaviour), certificate_)) {}
  ~TlsEndpoint() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  TlsEndpoint(const TlsEndpoint&) = delete;
  TlsEndpoint& operator=(const TlsEndpoint&) = delete;

  endpoints::MisbehavingEndpoint& server() { return server_; }
  // The certificate, which is its own CA: what ca_file must name to trust it.
  const std::string& caFile() const { return certificate_.cert_file; }

 private:
  static std::filesystem::path makeDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "wsprobe-tls-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory");
    return pattern;
  }
  static endpoints::EndpointBehaviour withCertificate(endpoints::EndpointBehaviour behaviour,
                                                      const endpoints::CertificateFiles& certificate) {
    behaviour.tls_cert_file = certificate.cert_file;
    behaviour.tls_key_file = certificate.key_file;
    return behaviour;
  }

  std::filesystem::path directory_;  // first: the members below use it
  endpoints::CertificateFiles certificate_;
  endpoints::MisbehavingEndpoint server_;
};

}  // namespace wsprobe::testing
