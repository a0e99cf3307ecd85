// libFuzzer target: the configuration parser (agent/config.cpp, toml++ under
// it) on arbitrary text. Every input ends in a Config or an error message
// that names the place; none crashes, throws or reads out of bounds. Every
// ${VAR} resolves, so expansion is reached; "${UNSET}" does not.
// fuzz-link: wsprobe_agent
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  const wsprobe::EnvLookup env =
      [](std::string_view name) -> std::optional<std::string> {
    if (name == "UNSET")
      return std::nullopt;
    return std::string("value-of-") + std::string(name);
  };
  const wsprobe::ConfigResult result =
      wsprobe::parseConfig(text, "fuzz.toml", env);
  // Exactly one of the two; an error always says where.
  if (result.config.has_value() == !result.error.empty())
    std::abort();
  if (!result.config && result.error.rfind("fuzz.toml", 0) != 0)
    std::abort();
  return 0;
}
