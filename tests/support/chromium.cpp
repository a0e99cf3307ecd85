#include "support/chromium.h"

#include "support/child_process.h"

namespace wsprobe::testing {

std::string chromiumProgram() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    if (haveProgram(name)) return name;
  }
  return "";
}

std::vector<std::string> headlessChromium(const std::string& program, const std::string& profile) {
  return {program,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          "--disable-dev-shm-usage",
          "--user-data-dir=" + profile,
          "--virtual-time-budget=2000"};
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace wsprobe::testing
