// The test bed's RFC 6455 framing: the client frames it reads (masked, in
// pieces, of every length encoding) and the frames it writes. Bytes in,
// frames out; no socket.
#include <catch2/catch.hpp>
#include <string>

#include "testbed/websocket_frames.h"

using namespace wsprobe::endpoints;

namespace {

// A client frame: first byte, then the payload masked with `mask`.
std::string maskedFrame(std::uint8_t first_byte, const std::string& payload,
                        const std::string& mask = std::string("\x11\x22\x33\x44", 4)) {
  std::string unmasked = encodeFrame(first_byte, payload);
  const std::size_t header = unmasked.size() - payload.size();
  std::string frame = unmasked.substr(0, header);
  frame[1] = static_cast<char>(static_cast<std::uint8_t>(frame[1]) | 0x80);
  frame += mask;
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return frame;
}

}  // namespace

TEST_CASE("testbed frames: a masked client frame is read and unmasked", "[unit]") {
  FrameReader reader(1 << 20);
  reader.append(maskedFrame(0x81, "hello"));
  Frame frame;
  REQUIRE(reader.next(frame) == FrameReader::Result::frame);
  CHECK(frame.fin);
  CHECK(frame.opcode == opcode::text);
  CHECK(frame.reserved_bits == 0);
  CHECK(frame.masked);
  CHECK(frame.payload == "hello");
  CHECK(reader.next(frame) == FrameReader::Result::incomplete);
}

TEST_CASE("testbed frames: each length encoding (7 bit, 16 bit, 64 bit) at its edges", "[unit]") {
  for (const std::size_t length : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                                   std::size_t{65536}, std::size_t{70000}}) {
    INFO("length " << length);
    std::string payload(length, 'x');
    for (std::size_t i = 0; i < length; ++i) payload[i] = static_cast<char>('a' + i % 26);
    const std::string encoded = encodeFrame(0x82, payload);
    const std::size_t header = length < 126 ? 2 : length <= 0xFFFF ? 4 : 10;
    CHECK(encoded.size() == header + length);
    FrameReader reader(1 << 20);
    reader.append(maskedFrame(0x82, payload));
    Frame frame;
    REQUIRE(reader.next(frame) == FrameReader::Result::frame);
    CHECK(frame.opcode == opcode::binary);
    CHECK(frame.payload == payload);
  }
}

TEST_CASE("testbed frames: a frame arriving one byte at a time is whole only at its last byte", "[unit]") {
  const std::string bytes = maskedFrame(0x81, std::string(300, 'y')) + maskedFrame(0x89, "p");
  FrameReader reader(1 << 20);
  Frame frame;
  std::vector<std::string> payloads;
  for (const char byte : bytes) {
    reader.append(std::string(1, byte));
    while (reader.next(frame) == FrameReader::Result::frame) payloads.push_back(frame.payload);
  }
  REQUIRE(payloads.size() == 2);
  CHECK(payloads[0] == std::string(300, 'y'));
  CHECK(payloads[1] == "p");
}

TEST_CASE("testbed frames: several frames in one read come out in order", "[unit]") {
  FrameReader reader(1 << 20);
  reader.append(maskedFrame(0x01, "con") + maskedFrame(0x80, "tin") +
                maskedFrame(0x88, closePayload(1000, "")));
  Frame frame;
  REQUIRE(reader.next(frame) == FrameReader::Result::frame);
  CHECK((!frame.fin && frame.opcode == opcode::text && frame.payload == "con"));
  REQUIRE(reader.next(frame) == FrameReader::Result::frame);
  CHECK((frame.fin && frame.opcode == opcode::continuation && frame.payload == "tin"));
  REQUIRE(reader.next(frame) == FrameReader::Result::frame);
  CHECK(frame.opcode == opcode::close);
  CHECK(frame.payload == std::string("\x03\xe8", 2));
  CHECK(reader.next(frame) == FrameReader::Result::incomplete);
}

TEST_CASE("testbed frames: reserved bits and an unmasked frame are reported as they came", "[unit]") {
  FrameReader reader(1 << 20);
  reader.append(encodeFrame(0xC1, "r"));  // FIN, RSV1, text, not masked
  Frame frame;
  REQUIRE(reader.next(frame) == FrameReader::Result::frame);
  CHECK(frame.reserved_bits == 0x4);
  CHECK_FALSE(frame.masked);
  CHECK(frame.payload == "r");
}

TEST_CASE("testbed frames: a length over the limit is too_big as soon as the header says so", "[unit]") {
  FrameReader reader(100);
  // Only the header of a 64 KiB frame has arrived.
  reader.append(maskedFrame(0x82, std::string(65536, 'z')).substr(0, 10));
  Frame frame;
  CHECK(reader.next(frame) == FrameReader::Result::too_big);
  FrameReader exact(100);
  exact.append(maskedFrame(0x82, std::string(100, 'z')));
  CHECK(exact.next(frame) == FrameReader::Result::frame);
}

TEST_CASE("testbed frames: a long stream read frame by frame stays right as its buffer is compacted",
          "[unit]") {
  // What was returned is dropped once it is most of the buffer: frames keep
  // coming out right however many went before.
  FrameReader reader(1 << 20);
  Frame frame;
  for (int i = 0; i < 10000; ++i) {
    reader.append(maskedFrame(0x81, std::to_string(i)));
    REQUIRE(reader.next(frame) == FrameReader::Result::frame);
    REQUIRE(frame.payload == std::to_string(i));
  }
}

TEST_CASE("testbed frames: frames written, with FIN and opcode in the first byte", "[unit]") {
  CHECK(encodeFrame(opcode::pong, "ab", true) == std::string("\x8a\x02"
                                                             "ab",
                                                             4));
  CHECK(encodeFrame(opcode::text, "", false) == std::string("\x01\x00", 2));
  CHECK(encodeFrame(0x0F, "") == std::string("\x0f\x00", 2));  // any first byte, reserved opcodes too
}

TEST_CASE("testbed frames: close payloads, codes a peer may send, UTF-8", "[unit]") {
  CHECK(closePayload(std::nullopt, "ignored").empty());
  CHECK(closePayload(1012, "restart") == std::string("\x03\xf4restart", 9));
  CHECK(closePayload(4001, std::string(200, 'r')).size() == 125);  // a control frame's limit
  for (const int code : {1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999}) {
    INFO(code);
    CHECK(isSendableCloseCode(code));
  }
  for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    INFO(code);
    CHECK_FALSE(isSendableCloseCode(code));
  }
  CHECK(isValidUtf8("plain"));
  CHECK(isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(isValidUtf8("\xc0\xaf"));                        // overlong '/'
  CHECK_FALSE(isValidUtf8("\xed\xa0\x80"));                    // a UTF-16 surrogate
  CHECK_FALSE(isValidUtf8("\xf4\x90\x80\x80"));                // past U+10FFFF
  CHECK_FALSE(isValidUtf8("\xe2\x82"));                        // cut short
  CHECK_FALSE(isValidUtf8("\xff"));
}
