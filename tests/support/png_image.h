// Reads the PNG files a test's browser writes (chromium --screenshot): 8-bit
// RGB or RGBA, not interlaced, which is what Chromium produces. Enough to
// ask what colours are where; not a general decoder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsprobe::testing {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

struct PngImage {
  int width = 0;
  int height = 0;
  std::vector<Rgb> pixels;  // row by row, alpha dropped
  const Rgb& at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// The decoded image, or nullopt with `error` saying why.
std::optional<PngImage> decodePng(const std::string& bytes, std::string* error);

// Pixels of `image` within `tolerance` (per channel) of `colour`, in the
// rectangle [x0, x1) x [y0, y1) (clipped to the image).
std::size_t countNear(const PngImage& image, Rgb colour, int tolerance, int x0 = 0, int y0 = 0,
                      int x1 = 1 << 30, int y1 = 1 << 30);

}  // namespace wsprobe::testing
