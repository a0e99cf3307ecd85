// The one HTTP listener (civetweb). Handlers are plain functions from a
// request to a response; civetweb and OpenSSL stay inside http_server.cpp.
// The listener can serve HTTPS (with client certificates), require basic
// auth for every path, add configured headers and gzip responses; all of
// that but TLS on or off can change while it runs (update()).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/web_security.h"

namespace wsprobe {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct ListenSettings {
  std::string address;  // ":9713", "127.0.0.1:0", "0.0.0.0:9713"
  WebSecurity security;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for exactly `path`. Call before start().
  void handle(const std::string& path, Handler handler);
  // Starts listening; returns an error message naming the address (or the
  // TLS file, or the basic-auth user) on failure.
  std::optional<std::string> start(const ListenSettings& settings);
  // New TLS settings for the next connections, new users and headers for
  // the next requests. On error (a file that does not load, TLS switched on
  // or off: that needs a restart) nothing changes.
  std::optional<std::string> update(const WebSecurity& security);
  void stop();
  // The bound port (useful with port 0).
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ":9713" -> "9713" (all interfaces), "127.0.0.1:9713" unchanged; nullopt and
// *error set for addresses civetweb cannot listen on here.
std::optional<std::string> civetwebListeningPort(const std::string& address, bool tls,
                                                 std::string* error);

}  // namespace wsprobe
