// The built wsprobe binary as a child process, its stdout and stderr in one
// log file: for tests where a process is the point (signals, exit status,
// what it prints, a network namespace of its own).
#pragma once

#include <string>
#include <vector>

#include "support/child_process.h"

namespace wsprobe::testing {

class WsprobeBinary {
 public:
  // Runs `prefix` (`ip netns exec NAME`; empty: nothing), the binary and
  // `arguments`, appending its output to `log_file`.
  WsprobeBinary(const std::vector<std::string>& arguments, std::string log_file,
                std::vector<std::string> prefix = {});

  ChildProcess& process() { return child_; }
  std::string output() const { return readFile(log_file_); }
  // The port of its "listening on ... (port N)" line; 0 until that is logged.
  int port() const;

 private:
  std::string log_file_;
  ChildProcess child_;  // after log_file_, which it writes to
};

}  // namespace wsprobe::testing
