#include "support/wsprobe_binary.h"

#include <regex>
#include <utility>

namespace wsprobe::testing {

namespace {

std::vector<std::string> commandLine(std::vector<std::string> prefix, const std::vector<std::string>& arguments) {
  prefix.push_back(WSPROBE_BINARY);
  prefix.insert(prefix.end(), arguments.begin(), arguments.end());
  return prefix;
}

}  // namespace

WsprobeBinary::WsprobeBinary(const std::vector<std::string>& arguments, std::string log_file,
                             std::vector<std::string> prefix)
    : log_file_(std::move(log_file)), child_(commandLine(std::move(prefix), arguments), {}, log_file_) {}

int WsprobeBinary::port() const {
  static const std::regex listening(R"(listening on \S+ \(port (\d+)\))");
  std::smatch found;
  const std::string text = output();
  return std::regex_search(text, found, listening) ? std::stoi(found[1]) : 0;
}

}  // namespace wsprobe::testing
