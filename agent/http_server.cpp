#include "http_server.h"

#include <civetweb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <charconv>
#include <cstdio>
#include <map>
#include <string_view>

#include "agent/basic_auth.h"
#include "agent/civetweb_openssl/openssl_names.h"

namespace wsprobe {

struct HttpServer::Impl {
  mg_context* context = nullptr;
  std::map<std::string, Handler> handlers;  // by exact path; stable addresses
  std::unique_ptr<BasicAuthenticator> authenticator;  // set by start(); used by civetweb's threads
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_error;  // why the TLS set-up in start() failed
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

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// civetweb's init_ssl callback: loads the certificate chain and the key from
// their own files (civetweb alone wants both in one file). Returns 1 (done)
// or -1 (fail; the reason is in impl->tls_error).
int initTls(void* ssl_context, void* user_data) {
  auto* impl = static_cast<HttpServer::Impl*>(user_data);
  auto* context = static_cast<SSL_CTX*>(ssl_context);
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(context, impl->tls_cert_file.c_str()) != 1) {
    impl->tls_error = "cannot load TLS certificate " + impl->tls_cert_file + ": " + opensslError();
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(context, impl->tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    impl->tls_error = "cannot load TLS key " + impl->tls_key_file + ": " + opensslError();
    return -1;
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    impl->tls_error = "TLS key " + impl->tls_key_file + " does not match certificate " +
                      impl->tls_cert_file;
    return -1;
  }
  return 1;
}

// civetweb's authorization handler for every path: 1 lets the request
// through, 0 means the 401 has been sent.
int authorize(mg_connection* connection, void* data) {
  auto* impl = static_cast<HttpServer::Impl*>(data);
  const char* header = mg_get_header(connection, "Authorization");
  if (impl->authenticator->allows(header ? header : "")) return 1;
  static constexpr char kBody[] = "Unauthorized\n";
  mg_printf(connection,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
            BasicAuthenticator::kChallenge, sizeof kBody - 1);
  const mg_request_info* info = mg_get_request_info(connection);
  if (!info->request_method || std::string_view(info->request_method) != "HEAD") {
    mg_write(connection, kBody, sizeof kBody - 1);
  }
  return 0;
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
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            // The status page shows free text from servers and the config:
            // besides escaping it, let no script run and no frame embed it.
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'\r\n\r\n",
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
  const bool tls = !settings.tls_cert_file.empty() || !settings.tls_key_file.empty();
  if (tls && (settings.tls_cert_file.empty() || settings.tls_key_file.empty())) {
    return "web.tls_cert_file and web.tls_key_file must be set together";
  }
  std::string error;
  const auto ports = civetwebListeningPort(settings.address, tls, &error);
  if (!ports) return error;
  impl_->authenticator = std::make_unique<BasicAuthenticator>(settings.basic_auth_users);
  if (auto invalid = impl_->authenticator->validate()) return invalid;
  impl_->tls_cert_file = settings.tls_cert_file;
  impl_->tls_key_file = settings.tls_key_file;
  impl_->tls_error.clear();

  std::vector<const char*> options = {"listening_ports", ports->c_str(), "num_threads", "4",
                                      "request_timeout_ms", "10000", "enable_keep_alive", "yes"};
  options.push_back(nullptr);
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // quiet
  if (tls) {
    // civetweb loads OpenSSL when asked for TLS, by names our own two
    // libraries answer (agent/civetweb_openssl/CMakeLists.txt).
    const bool names_loaded = wsprobe_civetweb_ssl_names() == 1 && wsprobe_civetweb_crypto_names() == 1;
    if (!names_loaded || (mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0) {
      return "cannot serve HTTPS on " + settings.address + ": civetweb could not load OpenSSL";
    }
    callbacks.init_ssl = initTls;
  } else {
    mg_init_library(0);
  }
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = impl_.get();
  init.configuration_options = options.data();
  char error_text[256] = "";
  mg_error_data error_data{};
  error_data.text = error_text;
  error_data.text_buffer_size = sizeof error_text;
  impl_->context = mg_start2(&init, &error_data);
  if (!impl_->context) {
    if (!impl_->tls_error.empty()) return impl_->tls_error;
    return "cannot listen on " + settings.address + (error_text[0] ? ": " + std::string(error_text) : "");
  }
  // Authorization first: no handler answers before it is in place.
  if (impl_->authenticator->required()) {
    mg_set_auth_handler(impl_->context, "/", authorize, impl_.get());
  }
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
