// Checks that the text of a WebSocket text message is valid UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), incrementally,
// since a message arrives in fragments and in chunks. RFC 6455 section 8.1:
// an endpoint that receives invalid UTF-8 in a text message fails the
// connection with 1007. libwebsockets' own check misses a lead byte whose
// continuation is missing (C3 28), so wsprobe checks for itself.
#pragma once

#include <cstdint>
#include <string_view>

namespace wsprobe {

class Utf8Validator {
 public:
  // Checks the next bytes of the message; false once it is invalid.
  bool feed(std::string_view bytes);
  // The message ended: false when a character was cut short. Resets.
  bool finish();
  void reset() { *this = Utf8Validator{}; }

 private:
  std::uint8_t needed_ = 0;     // continuation bytes still expected
  std::uint8_t lower_ = 0x80;   // allowed range of the next continuation byte
  std::uint8_t upper_ = 0xBF;
  bool failed_ = false;
};

}  // namespace wsprobe
