// libFuzzer target: the WebSocket URL parser, the one URL redaction and the
// basic-auth value built from a URL's userinfo (probes/). Checks, besides
// crashes: what the parser accepts, its redaction still parses to the same
// host, port and scheme, with the userinfo hidden.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "probes/url_credentials.h"
#include "probes/websocket_url.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  const std::string redacted = wsprobe::redactUrl(text);
  std::string error;
  const auto url = wsprobe::parseWebSocketUrl(text, &error);
  if (!url) {
    if (error.empty())
      std::abort(); // a refusal always says why
    return 0;
  }
  if (url->port < 1 || url->port > 65535 || url->host.empty())
    std::abort();
  const auto shown = wsprobe::parseWebSocketUrl(redacted, &error);
  if (!shown || shown->host != url->host || shown->port != url->port ||
      shown->secure != url->secure) {
    std::abort();
  }
  const bool had_userinfo =
      text.substr(0, text.find_first_of("/?#", url->secure ? 6 : 5))
          .find('@') != std::string_view::npos;
  if (had_userinfo && shown->userinfo != "***")
    std::abort();
  if (!had_userinfo && !shown->userinfo.empty())
    std::abort();
  if (wsprobe::percentDecode(url->userinfo).size() > url->userinfo.size())
    std::abort();
  const std::string authorization = wsprobe::basicAuthorization(url->userinfo);
  if (url->userinfo.empty() != authorization.empty())
    std::abort();
  return 0;
}
