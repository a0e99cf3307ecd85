// The man page and the bash completion script, written from the command
// line's own definition (CLI11), so neither can drift from `wsprobe --help`:
// a flag added to main.cpp appears in both at the next build.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

namespace wsprobe {

// wsprobe.1 in man(7) roff: the options and commands from `app`, the prose
// (configuration, signals, files, examples) written here.
void writeManPage(const CLI::App& app, const std::string& version, std::ostream& out);

// A bash completion script: subcommands, each one's options, and file names
// after options that take a file.
void writeBashCompletion(const CLI::App& app, std::ostream& out);

}  // namespace wsprobe
