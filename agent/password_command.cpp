#include "password_command.h"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "agent/basic_auth.h"

namespace wsprobe {

namespace {

void forget(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

std::optional<std::string> readLine() {
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Prompts on stderr (stdout carries only the hash) and reads one line with
// echo off.
std::optional<std::string> askWithoutEcho(const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios saved{};
  const bool terminal = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the line feed still shows
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  auto line = readLine();
  if (terminal) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  return line;
}

}  // namespace

int runHashPassword(int cost) {
  std::optional<std::string> password;
  if (isatty(STDIN_FILENO)) {
    password = askWithoutEcho("Password: ");
    auto again = password ? askWithoutEcho("Password again: ") : std::nullopt;
    if (!again || *again != *password) {
      std::cerr << "wsprobe: the two passwords differ\n";
      if (password) forget(*password);
      if (again) forget(*again);
      return 1;
    }
    forget(*again);
  } else {
    password = readLine();
  }
  if (!password || password->empty()) {
    std::cerr
        << "wsprobe: no password given (on a terminal it is asked for; else one line on standard input)\n";
    return 1;
  }
  const auto hash = bcryptHash(*password, cost);
  forget(*password);
  if (!hash) {
    std::cerr << "wsprobe: libxcrypt could not make a bcrypt hash with cost " << cost << "\n";
    return 1;
  }
  std::cout << *hash << "\n";
  return 0;
}

}  // namespace wsprobe
