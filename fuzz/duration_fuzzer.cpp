// libFuzzer target: duration strings of the configuration ("1m30s", "1.5s").
// An accepted duration is never negative, and formatting it gives a string
// the parser accepts again with the same value.
// fuzz-link: wsprobe_agent
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  std::string error;
  const auto duration = wsprobe::parseDuration(text, &error);
  if (!duration) {
    if (error.empty())
      std::abort();
    return 0;
  }
  if (duration->count() < 0)
    std::abort();
  const std::string formatted = wsprobe::formatDuration(*duration);
  const auto again = wsprobe::parseDuration(formatted, &error);
  if (!again)
    std::abort();
  return 0;
}
