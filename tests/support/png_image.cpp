#include "support/png_image.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace wsprobe::testing {

namespace {

std::uint32_t bigEndian32(const std::string& bytes, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a);
  const int pb = std::abs(p - b);
  const int pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

std::optional<PngImage> fail(std::string* error, const std::string& why) {
  *error = why;
  return std::nullopt;
}

}  // namespace

std::optional<PngImage> decodePng(const std::string& bytes, std::string* error) {
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) return fail(error, "not a PNG");
  PngImage image;
  int channels = 0;
  std::string compressed;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    const std::uint32_t length = bigEndian32(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + length > bytes.size()) return fail(error, "truncated chunk " + type);
    const std::size_t data = at + 8;
    if (type == "IHDR") {
      image.width = static_cast<int>(bigEndian32(bytes, data));
      image.height = static_cast<int>(bigEndian32(bytes, data + 4));
      const int depth = static_cast<unsigned char>(bytes[data + 8]);
      const int colour_type = static_cast<unsigned char>(bytes[data + 9]);
      const int interlace = static_cast<unsigned char>(bytes[data + 12]);
      if (depth != 8 || interlace != 0 || (colour_type != 2 && colour_type != 6)) {
        return fail(error, "unsupported PNG: depth " + std::to_string(depth) + ", colour type " +
                               std::to_string(colour_type) + ", interlace " + std::to_string(interlace));
      }
      channels = colour_type == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      compressed.append(bytes, data, length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (channels == 0 || image.width <= 0 || image.height <= 0) return fail(error, "no IHDR");

  const std::size_t stride = static_cast<std::size_t>(image.width) * channels;
  std::string raw((stride + 1) * image.height, '\0');
  uLongf raw_size = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                 reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()) != Z_OK ||
      raw_size != raw.size()) {
    return fail(error, "IDAT does not inflate to the image's size");
  }
  std::vector<std::uint8_t> previous(stride, 0);
  std::vector<std::uint8_t> row(stride);
  image.pixels.reserve(static_cast<std::size_t>(image.width) * image.height);
  for (int y = 0; y < image.height; ++y) {
    const std::size_t start = y * (stride + 1);
    const int filter = static_cast<unsigned char>(raw[start]);
    for (std::size_t i = 0; i < stride; ++i) {
      const int x = static_cast<unsigned char>(raw[start + 1 + i]);
      const int a = i >= static_cast<std::size_t>(channels) ? row[i - channels] : 0;
      const int b = previous[i];
      const int c = i >= static_cast<std::size_t>(channels) ? previous[i - channels] : 0;
      int value = 0;
      switch (filter) {
        case 0:
          value = x;
          break;
        case 1:
          value = x + a;
          break;
        case 2:
          value = x + b;
          break;
        case 3:
          value = x + (a + b) / 2;
          break;
        case 4:
          value = x + paeth(a, b, c);
          break;
        default:
          return fail(error, "unknown filter " + std::to_string(filter) + " in row " + std::to_string(y));
      }
      row[i] = static_cast<std::uint8_t>(value & 0xff);
    }
    for (int x = 0; x < image.width; ++x) {
      const std::size_t p = static_cast<std::size_t>(x) * channels;
      image.pixels.push_back({row[p], row[p + 1], row[p + 2]});
    }
    std::swap(previous, row);
  }
  return image;
}

std::size_t countNear(const PngImage& image, Rgb colour, int tolerance, int x0, int y0, int x1, int y1) {
  std::size_t n = 0;
  for (int y = std::max(0, y0); y < std::min(image.height, y1); ++y) {
    for (int x = std::max(0, x0); x < std::min(image.width, x1); ++x) {
      const Rgb& p = image.at(x, y);
      if (std::abs(p.r - colour.r) <= tolerance && std::abs(p.g - colour.g) <= tolerance &&
          std::abs(p.b - colour.b) <= tolerance) {
        ++n;
      }
    }
  }
  return n;
}

}  // namespace wsprobe::testing
