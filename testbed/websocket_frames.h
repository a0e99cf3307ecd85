// RFC 6455 framing, server side: reads the client's (masked) frames from a
// byte stream and writes unmasked ones. No sockets here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsprobe::endpoints {

namespace opcode {
inline constexpr std::uint8_t continuation = 0x0;
inline constexpr std::uint8_t text = 0x1;
inline constexpr std::uint8_t binary = 0x2;
inline constexpr std::uint8_t close = 0x8;
inline constexpr std::uint8_t ping = 0x9;
inline constexpr std::uint8_t pong = 0xA;
}  // namespace opcode

struct Frame {
  bool fin = true;
  std::uint8_t reserved_bits = 0;  // RSV1..RSV3 as the low three bits
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;  // unmasked
};

// Cuts frames out of the bytes of one connection as they arrive.
class FrameReader {
 public:
  explicit FrameReader(std::uint64_t max_payload) : max_payload_(max_payload) {}

  void append(std::string_view bytes);
  enum class Result { frame, incomplete, too_big };
  // `frame` is set when the result is Result::frame. Once too_big is
  // returned the stream is unusable.
  Result next(Frame& frame);

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned as frames
  std::uint64_t max_payload_;
};

// A whole unmasked frame: `first_byte` holds FIN, RSV and the opcode.
std::string encodeFrame(std::uint8_t first_byte, std::string_view payload);
// A final frame without reserved bits.
std::string encodeFrame(std::uint8_t frame_opcode, std::string_view payload, bool fin);

// The payload of a close frame: no code gives an empty payload.
std::string closePayload(std::optional<int> code, std::string_view reason);

// Codes a peer may put in a close frame (RFC 6455 section 7.4).
bool isSendableCloseCode(int code);
bool isValidUtf8(std::string_view text);

}  // namespace wsprobe::endpoints
