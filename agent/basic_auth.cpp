#include "basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace wsprobe {

namespace {

// Above this many remembered pairs the cache starts over: it only has to
// hold the few scrapers and people of one installation.
constexpr std::size_t kMaxVerified = 1024;

bool isBcryptHash(const std::string& hash) {
  const bool bcrypt_prefix = hash.rfind("$2y$", 0) == 0 || hash.rfind("$2b$", 0) == 0 ||
                             hash.rfind("$2a$", 0) == 0;
  return bcrypt_prefix && crypt_checksalt(hash.c_str()) == CRYPT_SALT_OK;
}

bool equalIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string> decodeBase64(std::string_view text) {
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> context(EVP_ENCODE_CTX_new(),
                                                                         &EVP_ENCODE_CTX_free);
  if (!context || text.size() > 8192) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  auto* buffer = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  int final_written = 0;
  EVP_DecodeInit(context.get());
  if (EVP_DecodeUpdate(context.get(), buffer, &written, reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0 ||
      EVP_DecodeFinal(context.get(), buffer + written, &final_written) < 0) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

}  // namespace

std::optional<std::string> bcryptHash(std::string_view password, int cost) {
  if (password.find('\0') != std::string_view::npos) return std::nullopt;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // Null random bytes: libxcrypt draws them from the system itself.
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting, sizeof setting)) {
    return std::nullopt;
  }
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_rn(phrase.c_str(), setting, data.get(), sizeof(crypt_data));
  if (!result || result[0] == '*') return std::nullopt;
  return std::string(result);
}

std::optional<std::pair<std::string, std::string>> parseBasicAuthorization(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos || !equalIgnoringCase(header.substr(0, space), "basic")) {
    return std::nullopt;
  }
  std::string_view encoded = header.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  // Only the base64 alphabet: EVP_Decode would skip whitespace inside.
  const bool alphabet = !encoded.empty() && std::all_of(encoded.begin(), encoded.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
  });
  if (!alphabet) return std::nullopt;
  const auto decoded = decodeBase64(encoded);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  if (RAND_bytes(cache_key_.data(), static_cast<int>(cache_key_.size())) != 1) {
    throw std::runtime_error("basic auth: no random bytes for the credential cache key");
  }
}

std::optional<std::string> BasicAuthenticator::validate() const {
  for (const auto& [user, hash] : users_) {
    if (user.empty() || user.find(':') != std::string::npos) {
      return "web.basic_auth_users: user name '" + user + "' must be non-empty and contain no ':'";
    }
    if (!isBcryptHash(hash)) {
      return "web.basic_auth_users: the value for user '" + user +
             "' is not a bcrypt hash ($2y$, $2b$ or $2a$)";
    }
  }
  return std::nullopt;
}

BasicAuthenticator::Digest BasicAuthenticator::cacheKey(std::string_view user,
                                                        std::string_view password) const {
  std::string message;
  message.reserve(user.size() + password.size() + 1);
  message.append(user).push_back('\0');
  message.append(password);
  Digest digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), cache_key_.data(), static_cast<int>(cache_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(), &length);
  OPENSSL_cleanse(message.data(), message.size());
  return digest;
}

bool BasicAuthenticator::matches(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;  // C strings end there
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_rn asks
  const char* result = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool same = result != nullptr && result[0] != '*' && std::strlen(result) == hash.size() &&
                    CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return same;
}

bool BasicAuthenticator::allows(std::string_view authorization) {
  if (users_.empty()) return true;
  auto credentials = parseBasicAuthorization(authorization);
  if (!credentials) return false;
  auto& [user, password] = *credentials;
  const auto found = users_.find(user);
  if (found == users_.end()) {
    // Spend the same bcrypt time as for a known user, so response times do
    // not tell which user names exist.
    matches(password, users_.begin()->second);
    OPENSSL_cleanse(password.data(), password.size());
    return false;
  }
  const Digest key = cacheKey(user, password);
  {
    std::lock_guard lock(cache_mutex_);
    if (verified_.count(key)) {
      OPENSSL_cleanse(password.data(), password.size());
      return true;
    }
  }
  const bool ok = matches(password, found->second);
  OPENSSL_cleanse(password.data(), password.size());
  if (ok) {
    std::lock_guard lock(cache_mutex_);
    if (verified_.size() >= kMaxVerified) verified_.clear();
    verified_.insert(key);
  }
  return ok;
}

}  // namespace wsprobe
