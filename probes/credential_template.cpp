#include "probes/credential_template.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace wsprobe {

namespace {
constexpr std::string_view kOpen = "${file:";

// Calls `on_text` for literal pieces and `on_file` for each path; returns a
// problem on malformed input.
template <typename OnText, typename OnFile>
std::optional<std::string> walk(std::string_view text, OnText on_text, OnFile on_file) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t next = text.find(kOpen, at);
    if (next == std::string_view::npos) {
      on_text(text.substr(at));
      break;
    }
    on_text(text.substr(at, next - at));
    const std::size_t close = text.find('}', next);
    if (close == std::string_view::npos) return std::string("unterminated ${file:");
    const std::string_view path = text.substr(next + kOpen.size(), close - next - kOpen.size());
    if (path.empty() || path.front() != '/') {
      return "${file:" + std::string(path) + "} must name an absolute path";
    }
    if (!on_file(std::string(path))) return std::nullopt;
    at = close + 1;
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string> credentialTemplateProblem(std::string_view text) {
  return walk(text, [](std::string_view) {}, [](const std::string&) { return true; });
}

bool hasFileReference(std::string_view text) { return text.find(kOpen) != std::string_view::npos; }

ExpandedCredential expandCredentialTemplate(std::string_view text, const FileReader& read) {
  ExpandedCredential out;
  const auto problem = walk(
      text, [&](std::string_view piece) { out.value.append(piece); },
      [&](const std::string& path) {
        std::string error;
        auto contents = read(path, error);
        if (!contents) {
          out.failed_file = path;
          out.error = error.empty() ? "cannot be read" : error;
          return false;
        }
        if (!contents->empty() && contents->back() == '\n') contents->pop_back();
        if (!contents->empty() && contents->back() == '\r') contents->pop_back();
        out.value += *contents;
        return true;
      });
  if (problem) out.error = *problem;
  if (!out.error.empty()) out.value.clear();  // never half a credential
  return out;
}

std::optional<std::string> readWholeFile(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return contents;
}

}  // namespace wsprobe
