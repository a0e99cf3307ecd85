// What the TLS session of a secure connection carries that operators watch:
// the negotiated version and cipher, and when the first certificate of the
// chain the server presented expires.
#pragma once

#include <optional>
#include <string>

struct ssl_st;

namespace wsprobe {

struct TlsSessionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  // The earliest notAfter in the presented chain, unix seconds; empty when
  // the server presented no certificate or its time did not parse.
  std::optional<double> earliest_not_after;
};

// Reads the session of an established connection (an OpenSSL SSL*); empty
// when there is none (a plain ws:// connection).
std::optional<TlsSessionInfo> readTlsSession(const ssl_st* ssl);

}  // namespace wsprobe
