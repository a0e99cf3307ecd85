// `wsprobe hash-password`: a bcrypt hash for basic_auth_users, so no other
// tool is needed to write a web configuration.
#pragma once

namespace wsprobe {

// On a terminal: asks twice without echo. Otherwise: reads one line from
// standard input (a trailing CR LF or LF is not part of the password).
// Prints the hash on standard output; returns the exit status.
int runHashPassword(int cost);

}  // namespace wsprobe
