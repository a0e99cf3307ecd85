#include "probes/prepared_request.h"

#include "probes/protocols/upgrade_path.h"

namespace wsprobe {

std::variant<PreparedRequest, ConnectionFailure> prepareRequest(const TargetSpec& spec, const FileReader& read,
                                                                std::uint64_t random) {
  std::optional<ConnectionFailure> failure;
  auto expand = [&](const std::string& text, const std::string& where) {
    if (failure || !hasFileReference(text)) return text;
    auto expanded = expandCredentialTemplate(text, read);
    if (!expanded.error.empty()) {
      ConnectionFailure problem;
      problem.stage = FailureStage::config;
      problem.detail = expanded.failed_file.empty()
                           ? where + ": " + expanded.error
                           : where + ": cannot read credential file '" + expanded.failed_file + "': " + expanded.error;
      failure = std::move(problem);
      return std::string();
    }
    if (expanded.value.find_first_of("\r\n") != std::string::npos) {
      ConnectionFailure problem;
      problem.stage = FailureStage::config;
      problem.detail = where + ": a credential file holds a line break";
      failure = std::move(problem);
      return std::string();
    }
    return std::move(expanded.value);
  };
  PreparedRequest request;
  request.path = upgradePath(spec.protocol, expand(spec.url.path, "url"), random);
  request.origin = expand(spec.origin, "origin");
  for (const auto& [name, value] : spec.headers) request.headers.emplace_back(name, expand(value, "header " + name));
  if (failure) return *failure;
  return request;
}

}  // namespace wsprobe
