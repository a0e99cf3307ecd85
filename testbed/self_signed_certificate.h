// A throwaway certificate for serving wss:// on loopback in tests and the demo.
#pragma once

#include <string>

namespace wsprobe::endpoints {

struct CertificateFiles {
  std::string cert_file;  // PEM certificate; also the CA file a client trusts
  std::string key_file;   // PEM private key (mode 0600)
};

// Writes a self-signed EC P-256 certificate valid from a minute ago for
// `validity_days` days, for CN 127.0.0.1 with subjectAltName IP:127.0.0.1, IP:::1 and
// DNS:localhost, and its key, into `directory` (which must exist) as
// wsprobe-test-cert.pem and wsprobe-test-key.pem. The certificate is its own
// CA: a verifying client fails without it and passes with ca_file = cert_file.
// Throws std::runtime_error naming the step that failed.
CertificateFiles writeSelfSignedCertificate(const std::string& directory, int validity_days = 1);

}  // namespace wsprobe::endpoints
