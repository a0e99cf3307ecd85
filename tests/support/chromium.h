// Headless Chromium for the status page's e2e tests: the program, its
// command line, and counting what the page it rendered holds.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace wsprobe::testing {

// Debian's chromium ("chromium" or "chromium-browser" in PATH), or "" when
// neither is installed.
std::string chromiumProgram();

// `program` headless, with no sandbox, GPU, background network, component
// updates or first-run work, `profile` as its user data directory and 2 s of
// virtual time for the page's own work. Append the window size and what to
// do (--dump-dom, --screenshot=...) and the URL.
std::vector<std::string> headlessChromium(const std::string& program, const std::string& profile);

// How often `needle` occurs in `text` (overlapping occurrences too).
std::size_t occurrences(const std::string& text, const std::string& needle);

}  // namespace wsprobe::testing
