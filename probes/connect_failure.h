// Which stage a failed connection attempt stopped at, from what
// libwebsockets reported. Pure, so it is tested without sockets.
#pragma once

#include <string_view>

#include "connection_end.h"

namespace wsprobe {

// `lws_message` is the text libwebsockets passes with a connection error,
// `http_status` the response status if one arrived (0 otherwise), and
// `timed_out` whether wsprobe's own handshake deadline ended the attempt.
ConnectionFailure classifyConnectFailure(std::string_view lws_message, int http_status,
                                         bool timed_out, bool secure);

}  // namespace wsprobe
