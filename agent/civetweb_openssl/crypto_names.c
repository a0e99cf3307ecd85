/* Loaded as "libcrypto.so" (its SONAME) ahead of civetweb; see
 * CMakeLists.txt. It defines nothing civetweb uses: every symbol civetweb
 * asks this handle for comes from libcrypto.so.3, a dependency. */
#include "openssl_names.h"

int wsprobe_civetweb_crypto_names(void) { return 1; }
