// libFuzzer target: the test bed's RFC 6455 frame reader (testbed/
// websocket_frames.*), fed the input in pieces whose sizes the input's first
// byte picks, as a socket would hand them over. Every frame it returns is
// re-encoded and read again to the same opcode and payload.
// fuzz-link: wsprobe_testbed
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "testbed/websocket_frames.h"

using wsprobe::endpoints::Frame;
using wsprobe::endpoints::FrameReader;

namespace {
void checkRoundTrip(const Frame &frame) {
  const std::uint8_t first = static_cast<std::uint8_t>(
      (frame.fin ? 0x80 : 0) | (frame.reserved_bits << 4) |
      (frame.opcode & 0x0f));
  FrameReader again(1 << 20);
  again.append(wsprobe::endpoints::encodeFrame(first, frame.payload));
  Frame read;
  if (again.next(read) != FrameReader::Result::frame)
    std::abort();
  if (read.opcode != frame.opcode || read.payload != frame.payload ||
      read.fin != frame.fin)
    std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char *>(data + 1), size - 1);
  FrameReader reader(64 * 1024);
  Frame frame;
  while (!bytes.empty()) {
    const std::size_t n = std::min(piece, bytes.size());
    reader.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    for (;;) {
      const auto result = reader.next(frame);
      if (result == FrameReader::Result::too_big)
        return 0;
      if (result == FrameReader::Result::incomplete)
        break;
      checkRoundTrip(frame);
      (void)wsprobe::endpoints::isValidUtf8(frame.payload);
    }
  }
  return 0;
}
