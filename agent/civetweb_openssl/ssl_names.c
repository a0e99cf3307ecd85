/* Loaded as "libssl.so" (its SONAME) ahead of civetweb; see CMakeLists.txt.
 * OpenSSL 3 renamed SSL_get_peer_certificate to SSL_get1_peer_certificate
 * (same contract: the caller frees the certificate) and keeps the old name
 * only as a macro, which civetweb's dlsym cannot see. Every other symbol
 * civetweb asks this handle for comes from libssl.so.3, a dependency. */
#include "openssl_names.h"

struct ssl_st;
struct x509_st;
extern struct x509_st* SSL_get1_peer_certificate(const struct ssl_st* ssl);
struct x509_st* SSL_get_peer_certificate(const struct ssl_st* ssl);

struct x509_st* SSL_get_peer_certificate(const struct ssl_st* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

int wsprobe_civetweb_ssl_names(void) { return 1; }
