// Credentials that rotate: a header value, the origin or the URL's query may
// hold ${file:/path} references, read again at every connection attempt
// (a trailing newline of the file is stripped). Other "${...}" forms were
// expanded at load time (environment) and do not reach the engine.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace wsprobe {

// Whether `text` has well-formed ${file:...} references only (an absolute
// path, closed brace); on a problem, what it is (for the config error).
std::optional<std::string> credentialTemplateProblem(std::string_view text);

// Whether `text` holds any ${file:...} reference.
bool hasFileReference(std::string_view text);

struct ExpandedCredential {
  std::string value;        // the text with every reference replaced
  std::string failed_file;  // non-empty: this file could not be read
  std::string error;        // why (strerror), never the file's contents
};

// Reads a whole file; nullopt with `error` set when it cannot.
using FileReader = std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

// Expands the ${file:...} references of `text` with `read`, stripping one
// trailing "\n" or "\r\n" from each file's contents.
ExpandedCredential expandCredentialTemplate(std::string_view text, const FileReader& read);

// The FileReader that reads from disk.
std::optional<std::string> readWholeFile(const std::string& path, std::string& error);

}  // namespace wsprobe
