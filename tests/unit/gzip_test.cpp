#include "agent/gzip.h"

#include <zlib.h>

#include <catch2/catch.hpp>

using namespace wsprobe;

TEST_CASE("Accept-Encoding: gzip only when listed with a q-value above 0", "[unit][web]") {
  const std::pair<const char*, bool> cases[] = {
      {"gzip", true},
      {"GZIP", true},
      {"x-gzip", true},
      {"deflate, gzip;q=0.5", true},
      {"gzip, deflate, br", true},
      {" br ;q=1 , gzip ; q=0.001", true},
      {"*", true},
      {"identity", false},
      {"", false},
      {"gzip;q=0", false},
      {"gzip;q=0.000", false},
      {"*, gzip;q=0", false},
      {"gzip;q=0, *", false},
      {"*;q=0", false},
      {"gzipped", false},
      {"deflate", false},
      {"gzip;q=nonsense", false},
  };
  for (const auto& [header, expected] : cases) {
    INFO("Accept-Encoding: " << header);
    CHECK(acceptsGzip(header) == expected);
  }
}

TEST_CASE("gzipCompress writes one gzip member that zlib reads back", "[unit][web]") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "wsprobe_pings_total{target=\"t" + std::to_string(i) + "\"} 42\n";
  for (const int level : {1, 6}) {
    const auto compressed = gzipCompress(text, level);
    REQUIRE(compressed);
    CHECK(compressed->size() < text.size() / 4);
    REQUIRE(compressed->size() > 2);
    CHECK(static_cast<unsigned char>((*compressed)[0]) == 0x1f);  // the gzip magic
    CHECK(static_cast<unsigned char>((*compressed)[1]) == 0x8b);

    z_stream stream{};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    std::string back(text.size() + 16, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed->data()));
    stream.avail_in = static_cast<uInt>(compressed->size());
    stream.next_out = reinterpret_cast<Bytef*>(back.data());
    stream.avail_out = static_cast<uInt>(back.size());
    CHECK(inflate(&stream, Z_FINISH) == Z_STREAM_END);
    back.resize(stream.total_out);
    inflateEnd(&stream);
    CHECK(back == text);
  }
  const auto empty = gzipCompress("");
  REQUIRE(empty);
  CHECK(empty->size() == 20);  // header and trailer around an empty deflate block
}
