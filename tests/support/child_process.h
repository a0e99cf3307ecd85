// Running programs from tests: a command to completion with its output (curl,
// chromium), or a long-running child (the wsprobe binary) to signal and wait
// for. Every wait has a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace wsprobe::testing {

struct CommandResult {
  int exit_code = -1;  // -1: killed at the deadline or could not start
  std::string output;  // stdout (and stderr when merged)
};

// Runs argv[0] (searched in PATH) with `argv`, stdin from /dev/null; kills it
// at `timeout`.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         bool merge_stderr = false);

// Whether `program` is found in PATH.
bool haveProgram(const std::string& program);

class ChildProcess {
 public:
  // Starts argv with the environment plus `extra_env` ("NAME=value"), stdout
  // and stderr appended to `output_file`.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               const std::string& output_file);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int number) const;
  // The exit status once it exited within `timeout` (128+N for signal N).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

std::string readFile(const std::string& path);
// A fresh directory under TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

}  // namespace wsprobe::testing
