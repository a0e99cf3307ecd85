#include "probes/tls_session_info.h"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

namespace wsprobe {

namespace {

std::optional<double> notAfterOf(const X509* certificate) {
  if (!certificate) return std::nullopt;
  const ASN1_TIME* not_after = X509_get0_notAfter(certificate);
  std::tm broken_down{};
  if (!not_after || ASN1_TIME_to_tm(not_after, &broken_down) != 1) return std::nullopt;
  return static_cast<double>(::timegm(&broken_down));
}

void keepEarliest(std::optional<double>& earliest, std::optional<double> candidate) {
  if (candidate && (!earliest || *candidate < *earliest)) earliest = candidate;
}

}  // namespace

std::optional<TlsSessionInfo> readTlsSession(const ssl_st* ssl) {
  if (!ssl) return std::nullopt;
  TlsSessionInfo info;
  const char* version = SSL_get_version(ssl);
  info.version = version ? version : "unknown";
  const char* cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  info.cipher = cipher ? cipher : "unknown";
  // On a client, the chain includes the leaf certificate.
  if (const STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) keepEarliest(info.earliest_not_after, notAfterOf(sk_X509_value(chain, i)));
  }
  keepEarliest(info.earliest_not_after, notAfterOf(SSL_get0_peer_certificate(ssl)));
  return info;
}

}  // namespace wsprobe
