#include "http_server.h"

#include <civetweb.h>

#include <charconv>
#include <map>

namespace wsprobe {

struct HttpServer::Impl {
  mg_context* context = nullptr;
  std::map<std::string, Handler> handlers;  // by exact path; stable addresses
};

namespace {

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

int dispatch(mg_connection* connection, void* data) {
  const auto* handler = static_cast<const HttpServer::Handler*>(data);
  const mg_request_info* info = mg_get_request_info(connection);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "";
  request.query = info->query_string ? info->query_string : "";
  HttpResponse response;
  try {
    response = (*handler)(request);
  } catch (const std::exception& error) {
    response = {500, "text/plain; charset=utf-8", std::string("internal error: ") + error.what() + "\n"};
  }
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
            response.status, reasonPhrase(response.status), response.content_type.c_str(),
            response.body.size());
  if (request.method != "HEAD") mg_write(connection, response.body.data(), response.body.size());
  return response.status;
}

}  // namespace

std::optional<std::string> civetwebListeningPort(const std::string& address, bool tls,
                                                 std::string* error) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    if (error) *error = "listen address '" + address + "' must be HOST:PORT or :PORT";
    return std::nullopt;
  }
  const std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    if (error) *error = "listen address '" + address + "' has an invalid port";
    return std::nullopt;
  }
  if (host.find_first_of("[]") != std::string::npos) {
    if (error) *error = "listen address '" + address + "': IPv6 is not supported by this build";
    return std::nullopt;
  }
  std::string result = host.empty() ? port_text : host + ":" + port_text;
  if (tls) result += "s";
  return result;
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { stop(); }

void HttpServer::handle(const std::string& path, Handler handler) {
  impl_->handlers[path] = std::move(handler);
}

std::optional<std::string> HttpServer::start(const ListenSettings& settings) {
  const bool tls = !settings.tls_cert_file.empty();
  std::string error;
  const auto ports = civetwebListeningPort(settings.address, tls, &error);
  if (!ports) return error;
  std::vector<const char*> options = {"listening_ports", ports->c_str(), "num_threads", "4",
                                      "request_timeout_ms", "10000", "enable_keep_alive", "yes"};
  if (tls) {
    options.insert(options.end(), {"ssl_certificate", settings.tls_cert_file.c_str()});
  }
  options.push_back(nullptr);
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // quiet
  mg_init_library(tls ? MG_FEATURES_TLS : 0);
  impl_->context = mg_start(&callbacks, nullptr, options.data());
  if (!impl_->context) return "cannot listen on " + settings.address;
  for (const auto& [path, handler] : impl_->handlers) {
    mg_set_request_handler(impl_->context, (path + "$").c_str(), dispatch,
                           const_cast<Handler*>(&handler));
  }
  return std::nullopt;
}

void HttpServer::stop() {
  if (impl_->context) {
    mg_stop(impl_->context);
    impl_->context = nullptr;
  }
}

int HttpServer::port() const {
  if (!impl_->context) return 0;
  mg_server_port ports[4]{};
  const int count = mg_get_server_ports(impl_->context, 4, ports);
  return count > 0 ? ports[0].port : 0;
}

}  // namespace wsprobe
