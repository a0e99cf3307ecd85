// HTTP basic auth against bcrypt hashes, as Prometheus's web configuration
// does it ([web.basic_auth_users]: user = "$2y$..."). Hashes are checked by
// libxcrypt; nothing here implements cryptography.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace wsprobe {

class BasicAuthenticator {
 public:
  // users: user name -> bcrypt hash. Empty: every request is allowed.
  explicit BasicAuthenticator(std::map<std::string, std::string> users = {});

  // An error naming the first user whose hash is not a bcrypt hash this
  // machine can check; nothing is said about the hash itself.
  std::optional<std::string> validate() const;

  bool required() const { return !users_.empty(); }

  // `authorization`: the request's Authorization header, empty when absent.
  // True when no users are configured, or the header carries the name and
  // password of a configured user.
  bool allows(std::string_view authorization);

  // The WWW-Authenticate value a 401 answer carries.
  static constexpr const char* kChallenge = "Basic realm=\"wsprobe\", charset=\"UTF-8\"";

 private:
  using Digest = std::array<std::uint8_t, 32>;
  Digest cacheKey(std::string_view user, std::string_view password) const;
  static bool matches(std::string_view password, const std::string& hash);

  std::map<std::string, std::string> users_;
  // bcrypt takes tens of milliseconds by design; a scraper sends the same
  // credentials every few seconds. Verified pairs are remembered as keyed
  // SHA-256 digests (never as passwords), as exporter-toolkit caches them.
  std::array<std::uint8_t, 32> cache_key_{};
  std::mutex cache_mutex_;
  std::set<Digest> verified_;
};

// A $2b$ bcrypt hash of `password` with 2^cost rounds (4..31), for tests and
// for people writing [web.basic_auth_users]; nullopt if libxcrypt refuses.
std::optional<std::string> bcryptHash(std::string_view password, int cost);

// "Basic dXNlcjpwYXNz" -> {"user", "pass"}; nullopt for any other scheme or
// malformed base64 or a missing ':'.
std::optional<std::pair<std::string, std::string>> parseBasicAuthorization(std::string_view header);

}  // namespace wsprobe
