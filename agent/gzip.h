// gzip for HTTP responses: whether a request's Accept-Encoding allows it,
// and the compression itself (zlib).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsprobe {

// True when the Accept-Encoding value lists gzip (or x-gzip, or *) with a
// q-value above 0: "gzip", "deflate, gzip;q=0.5", "*". False for "gzip;q=0",
// "identity", "" and anything else.
bool acceptsGzip(std::string_view accept_encoding);

// `text` as one gzip member (RFC 1952); nullopt if zlib fails. Level 1: a
// tenth of the time of level 6 on the /metrics text for a few percent
// more bytes (bench/render_and_reload.cpp measures both).
std::optional<std::string> gzipCompress(std::string_view text, int level = 1);

}  // namespace wsprobe
