// What a URL's userinfo ("user:password" before '@') becomes on the wire: the
// Authorization header of HTTP basic auth (RFC 7617), after the userinfo's
// percent-encoding is undone (RFC 3986 3.2.1: "p%40ss" is the password "p@ss").
#pragma once

#include <string>
#include <string_view>

namespace wsprobe {

// Undoes %XX escapes (hex digits in either case). A '%' not followed by two
// hex digits is kept as it is, as curl and browsers do.
std::string percentDecode(std::string_view text);

// "Basic " + base64(percentDecode(userinfo)); empty for an empty userinfo.
// The whole userinfo is decoded at once, so a "%3A" in the user name ends up
// as a ':' that the server reads as the separator: RFC 7617 forbids ':' in
// user names, so there is nothing better to send.
std::string basicAuthorization(std::string_view userinfo);

} // namespace wsprobe
