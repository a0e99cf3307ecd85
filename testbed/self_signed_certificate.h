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

// A server certificate issued by a throwaway CA of its own, for TLS faults
// (expired, wrong name, unknown CA): the client trusts `ca_file` or not.
struct IssuedCertificate {
  std::string ca_file;    // PEM: the CA certificate
  std::string cert_file;  // PEM: the server certificate (the CA is not sent along)
  std::string key_file;   // PEM: the server's key (mode 0600)
};
struct CertificateRequest {
  std::string subject_alt_names = "IP:127.0.0.1";  // OpenSSL's subjectAltName syntax
  long valid_from_seconds = -60;                    // notBefore, relative to now
  long valid_until_seconds = 24L * 60 * 60;         // notAfter, relative to now
};
// Writes NAME-ca.pem, NAME-cert.pem and NAME-key.pem into `directory`.
// Throws std::runtime_error naming the step that failed.
IssuedCertificate writeIssuedCertificate(const std::string& directory, const std::string& name,
                                         const CertificateRequest& request);

}  // namespace wsprobe::endpoints
