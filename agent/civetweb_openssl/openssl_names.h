/* The OpenSSL names civetweb loads at run time, provided by wsprobe (see
 * CMakeLists.txt). Calling these keeps the linker from dropping the two
 * libraries, which nothing else references by symbol. */
#ifndef WSPROBE_CIVETWEB_OPENSSL_NAMES_H
#define WSPROBE_CIVETWEB_OPENSSL_NAMES_H

#ifdef __cplusplus
extern "C" {
#endif

int wsprobe_civetweb_ssl_names(void);
int wsprobe_civetweb_crypto_names(void);

#ifdef __cplusplus
}
#endif

#endif
