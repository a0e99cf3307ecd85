#include "probes/protocols/session_duration.h"

#include <charconv>
#include <cmath>

namespace wsprobe {

std::optional<Duration> parseSessionDuration(std::string_view text) {
  struct Unit {
    std::string_view name;
    double seconds;
  };
  // Longer names first, so "ms" is not read as "m" then "s".
  static constexpr Unit kUnits[] = {{"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
  double total = 0;
  std::string_view rest = text;
  if (rest.empty()) return std::nullopt;
  while (!rest.empty()) {
    std::size_t digits = 0;
    while (digits < rest.size() && ((rest[digits] >= '0' && rest[digits] <= '9') || rest[digits] == '.')) {
      ++digits;
    }
    double value = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + digits, value);
    if (digits == 0 || error != std::errc() || end != rest.data() + digits) return std::nullopt;
    rest.remove_prefix(digits);
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (rest.starts_with(candidate.name)) {
        unit = &candidate;
        break;
      }
    }
    if (!unit) return std::nullopt;
    rest.remove_prefix(unit->name.size());
    total += value * unit->seconds;
  }
  // Up to a day: longer keepalives than that are a typo, and the bound keeps
  // the conversion to nanoseconds finite.
  if (!std::isfinite(total) || total <= 0 || total > 86400) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(total));
}

}  // namespace wsprobe
