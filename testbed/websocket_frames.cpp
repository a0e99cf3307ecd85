#include "testbed/websocket_frames.h"

namespace wsprobe::endpoints {

namespace {

std::uint8_t byteAt(const std::string& buffer, std::size_t index) {
  return static_cast<std::uint8_t>(buffer[index]);
}

}  // namespace

void FrameReader::append(std::string_view bytes) {
  // Drop what was already returned once it is most of the buffer, so a long
  // connection does not grow it for ever, without moving bytes on every frame.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

FrameReader::Result FrameReader::next(Frame& frame) {
  const std::size_t available = buffer_.size() - consumed_;
  if (available < 2) return Result::incomplete;
  const std::size_t start = consumed_;
  const std::uint8_t first = byteAt(buffer_, start);
  const std::uint8_t second = byteAt(buffer_, start + 1);
  std::size_t header = 2;
  std::uint64_t length = second & 0x7F;
  if (length == 126) {
    header += 2;
    if (available < header) return Result::incomplete;
    length = (std::uint64_t{byteAt(buffer_, start + 2)} << 8) | byteAt(buffer_, start + 3);
  } else if (length == 127) {
    header += 8;
    if (available < header) return Result::incomplete;
    length = 0;
    for (std::size_t i = 0; i < 8; ++i) length = (length << 8) | byteAt(buffer_, start + 2 + i);
  }
  if (length > max_payload_) return Result::too_big;
  const bool masked = (second & 0x80) != 0;
  std::uint8_t mask[4] = {0, 0, 0, 0};
  if (masked) {
    if (available < header + 4) return Result::incomplete;
    for (std::size_t i = 0; i < 4; ++i) mask[i] = byteAt(buffer_, start + header + i);
    header += 4;
  }
  if (available - header < length) return Result::incomplete;

  frame.fin = (first & 0x80) != 0;
  frame.reserved_bits = static_cast<std::uint8_t>((first >> 4) & 0x7);
  frame.opcode = first & 0x0F;
  frame.masked = masked;
  frame.payload.assign(buffer_, start + header, static_cast<std::size_t>(length));
  if (masked) {
    for (std::size_t i = 0; i < frame.payload.size(); ++i) {
      frame.payload[i] = static_cast<char>(static_cast<std::uint8_t>(frame.payload[i]) ^ mask[i % 4]);
    }
  }
  consumed_ = start + header + static_cast<std::size_t>(length);
  return Result::frame;
}

std::string encodeFrame(std::uint8_t first_byte, std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 10);
  frame.push_back(static_cast<char>(first_byte));
  const std::uint64_t length = payload.size();
  if (length < 126) {
    frame.push_back(static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    frame.push_back(static_cast<char>(126));
    frame.push_back(static_cast<char>(length >> 8));
    frame.push_back(static_cast<char>(length & 0xFF));
  } else {
    frame.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
  frame.append(payload);
  return frame;
}

std::string encodeFrame(std::uint8_t frame_opcode, std::string_view payload, bool fin) {
  return encodeFrame(static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | (frame_opcode & 0x0F)), payload);
}

std::string closePayload(std::optional<int> code, std::string_view reason) {
  std::string payload;
  if (!code) return payload;
  payload.push_back(static_cast<char>((*code >> 8) & 0xFF));
  payload.push_back(static_cast<char>(*code & 0xFF));
  // A control frame carries at most 125 bytes.
  payload.append(reason.substr(0, 123));
  return payload;
}

bool isSendableCloseCode(int code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    default:
      return false;
  }
}

bool isValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = 0;
    std::uint32_t point = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      point = lead & 0x1F;
      minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      point = lead & 0x0F;
      minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      point = lead & 0x07;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and points past U+10FFFF are invalid.
    if (point < minimum || (point >= 0xD800 && point <= 0xDFFF) || point > 0x10FFFF) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace wsprobe::endpoints
