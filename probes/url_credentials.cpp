#include "url_credentials.h"

#include <openssl/evp.h>

namespace wsprobe {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
} // namespace

std::string percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hexValue(text[i + 1]);
      const int low = hexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string basicAuthorization(std::string_view userinfo) {
  if (userinfo.empty())
    return {};
  const std::string decoded = percentDecode(userinfo);
  // Base64: 4 characters per 3 bytes, rounded up, and EVP's terminating NUL.
  std::string encoded(4 * ((decoded.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char *>(encoded.data()),
                      reinterpret_cast<const unsigned char *>(decoded.data()),
                      static_cast<int>(decoded.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

} // namespace wsprobe
