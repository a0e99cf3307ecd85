// `wsprobe diagnose URL [options]`: the command line of the diagnosis, kept
// out of main.cpp so main only wires it in.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace wsprobe::diagnose {

struct CommandLine {
  std::string url;
  std::string duration = "2m";
  std::string ping_interval = "5s";
  std::vector<std::string> headers;  // "Name: value"
  std::vector<std::string> subprotocols;
  std::string origin;
  bool insecure = false;
  std::string ca_file;
  std::string message;
  std::string expect = "pong";
  std::string protocol = "auto";
  bool json = false;
};

// Adds the `diagnose` subcommand, whose options land in `line`.
CLI::App* addCommand(CLI::App& app, CommandLine& line);

// Runs it: the report on stdout, progress on stderr. Returns the exit status:
// 0 nothing wrong, 1 a problem found, 2 a usage error.
int runCommand(const CommandLine& line);

}  // namespace wsprobe::diagnose
