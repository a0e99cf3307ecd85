#include "probes/utf8_validator.h"

namespace wsprobe {

bool Utf8Validator::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (failed_) return false;
    const auto byte = static_cast<std::uint8_t>(c);
    if (needed_ > 0) {
      if (byte < lower_ || byte > upper_) {
        failed_ = true;
        return false;
      }
      --needed_;
      lower_ = 0x80;
      upper_ = 0xBF;
      continue;
    }
    if (byte < 0x80) continue;
    // Lead bytes; the ranges of the first continuation byte exclude overlong
    // forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    if (byte >= 0xC2 && byte <= 0xDF) {
      needed_ = 1;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      needed_ = 2;
      if (byte == 0xE0) lower_ = 0xA0;
      if (byte == 0xED) upper_ = 0x9F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      needed_ = 3;
      if (byte == 0xF0) lower_ = 0x90;
      if (byte == 0xF4) upper_ = 0x8F;
    } else {
      failed_ = true;
      return false;
    }
  }
  return !failed_;
}

bool Utf8Validator::finish() {
  const bool complete = !failed_ && needed_ == 0;
  reset();
  return complete;
}

}  // namespace wsprobe
