#include "http_server.h"

#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <string_view>

#include "agent/basic_auth.h"
#include "agent/gzip.h"

namespace wsprobe {

namespace {

// civetweb gives every connection a worker thread of its own until its
// request head is in (at most kRequestTimeoutMs after it took it), so the
// number of workers is the number of slow clients (a byte a second) it takes
// to make a scrape wait: 64 were not enough (issue 10: 1,000 slow clients must
// not delay a scrape). civetweb 1.16 starts them all at once; each costs ~18 KB
// resident (three 4 KB stack pages, a page of its head buffer), 1,100 of them
// 20 MB (measured: 15 MB idle with 64, 35 MB with 1,100). Upstream's
// on-demand start (after 1.16) left a scrape waiting 7.5 s here. Idle clients
// take no worker at all: see kDeferAcceptSeconds. civetweb is built with its
// ALTERNATIVE_QUEUE (scripts/debian-source/civetweb.sh), so a request goes to
// the lowest-numbered idle worker and scrapes reuse the same few: with the
// default queue every worker took a turn and kept ~31 KB more resident after
// its first request (35 MB over the first 1,100 scrapes).
constexpr int kWorkerThreads = 1100;
// That queue gives each worker an eventfd to wait on, so a worker costs a
// descriptor: the workers take at most a quarter of the open-file limit
// (the engine raises the soft limit before the listener starts), leaving the
// rest to connections. Under a hard limit of 1,024 that is 256 of them.
constexpr int kFewestWorkerThreads = 32;
int workerThreadsForLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kWorkerThreads;
  const auto quarter = static_cast<int>(std::min<rlim_t>(limit.rlim_cur / 4, kWorkerThreads));
  return std::max(quarter, kFewestWorkerThreads);
}
#if defined(__has_feature)  // clang
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WSPROBE_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // gcc
#define WSPROBE_SANITIZED 1
#endif
#if defined(WSPROBE_SANITIZED)
// Sanitized builds (CI's sanitizer tiers) start WSPROBE_SANITIZER_HTTP_WORKERS
// of them when it is set: under ThreadSanitizer and AddressSanitizer a
// thread's start and stop cost milliseconds, 1,100 of them seconds for every
// listener a test starts, and no test but the listener's load test (which
// unsets it) needs more than a few. Other builds ignore it.
int workerThreads() {
  const char* configured = std::getenv("WSPROBE_SANITIZER_HTTP_WORKERS");
  const int count = configured != nullptr ? std::atoi(configured) : 0;
  return count > 0 ? count : workerThreadsForLimit();
}
#else
int workerThreads() { return workerThreadsForLimit(); }
#endif
constexpr const char* kRequestTimeoutMs = "10000";
// Connections waiting for a worker; the kernel caps it at net.core.somaxconn.
constexpr const char* kListenBacklog = "4096";
// TCP_DEFER_ACCEPT: the kernel completes accept() only once the client has
// sent data (a FIN counts), so connections that send nothing never reach
// civetweb or a worker thread. HTTP and TLS clients speak first, so nobody
// legitimate waits on it. After this long the kernel hands the connection
// over anyway; until then it holds a request socket (~300 bytes of kernel
// memory, at most kListenBacklog of them before SYN cookies take over).
constexpr int kDeferAcceptSeconds = 3600;
// Smaller responses go out uncompressed whatever the client accepts.
constexpr std::size_t kGzipMinimumBytes = 1024;

// Sent with every answer; http_server_config.headers can replace them.
const std::map<std::string, std::string> kDefaultHeaders = {
    {"Cache-Control", "no-store"},
    {"X-Content-Type-Options", "nosniff"},
    // The status page shows free text from servers and the config: besides
    // escaping it, let no script run and no frame embed it.
    {"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"},
    // The body depends on it (gzip or not): caches must keep both apart.
    {"Vary", "Accept-Encoding"},
};

bool equalIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "Name: value\r\n" for each default header, the configured ones replacing
// a default of the same name.
std::string headerLines(const std::map<std::string, std::string>& configured) {
  std::string lines;
  for (const auto& [name, value] : kDefaultHeaders) {
    bool replaced = false;
    for (const auto& entry : configured) replaced = replaced || equalIgnoringCase(entry.first, name);
    if (!replaced) lines += name + ": " + value + "\r\n";
  }
  for (const auto& [name, value] : configured) lines += name + ": " + value + "\r\n";
  return lines;
}

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

int protocolVersion(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls10: return TLS1_VERSION;
    case TlsVersion::tls11: return TLS1_1_VERSION;
    case TlsVersion::tls12: return TLS1_2_VERSION;
    case TlsVersion::tls13: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ":") + name;
  return out;
}

// RequestClientCert and RequireAnyClientCert take any certificate, as Go's do.
int acceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

// One TLS configuration: a context with the certificate, key and client CAs,
// and what each connection copies from it when it switches to it.
struct TlsPolicy {
  SSL_CTX* context = nullptr;
  int verify_mode = SSL_VERIFY_NONE;
  bool accept_any_certificate = false;
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // 0: the highest OpenSSL speaks
  bool prefer_server_ciphers = true;
  std::string ciphers;  // empty: OpenSSL's defaults
  std::string groups;   // empty: OpenSSL's defaults
  TlsPolicy() = default;
  TlsPolicy(const TlsPolicy&) = delete;
  TlsPolicy& operator=(const TlsPolicy&) = delete;
  ~TlsPolicy() { SSL_CTX_free(context); }
};

struct HttpServer::Impl {
  mg_context* context = nullptr;
  std::map<std::string, Handler> handlers;  // by exact path; stable addresses
  bool tls = false;                         // fixed by start()
  // What update() replaces; civetweb's threads take a copy of the pointer
  // for each request (or TLS handshake).
  std::mutex mutex;
  std::shared_ptr<BasicAuthenticator> authenticator;
  std::shared_ptr<const std::string> header_lines;
  std::shared_ptr<TlsPolicy> tls_policy;
  // What civetweb passes to dispatch() for each path.
  struct Route {
    Impl* impl;
    const Handler* handler;
  };
  std::list<Route> routes;

  std::shared_ptr<BasicAuthenticator> currentAuthenticator() {
    std::lock_guard lock(mutex);
    return authenticator;
  }
  std::shared_ptr<const std::string> currentHeaders() {
    std::lock_guard lock(mutex);
    return header_lines;
  }
  std::shared_ptr<TlsPolicy> currentTlsPolicy() {
    std::lock_guard lock(mutex);
    return tls_policy;
  }
  std::optional<std::string> apply(const WebSecurity& security);
};

namespace {

std::shared_ptr<TlsPolicy> buildTlsPolicy(const TlsServerSettings& settings, std::string* error) {
  ERR_clear_error();
  auto policy = std::make_shared<TlsPolicy>();
  policy->context = SSL_CTX_new(TLS_server_method());
  SSL_CTX* context = policy->context;
  if (!context) {
    *error = "cannot create a TLS context: " + opensslError();
    return nullptr;
  }
  policy->min_version = protocolVersion(settings.min_version);
  policy->max_version = settings.max_version ? protocolVersion(*settings.max_version) : 0;
  policy->prefer_server_ciphers = settings.prefer_server_cipher_suites;
  if (SSL_CTX_use_certificate_chain_file(context, settings.cert_file.c_str()) != 1) {
    *error = "cannot load TLS certificate " + settings.cert_file + ": " + opensslError();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(context, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "cannot load TLS key " + settings.key_file + ": " + opensslError();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    *error = "TLS key " + settings.key_file + " does not match certificate " + settings.cert_file;
    return nullptr;
  }
  if (!settings.cipher_suites.empty()) {
    policy->ciphers = joined(settings.cipher_suites);
    if (SSL_CTX_set_cipher_list(context, policy->ciphers.c_str()) != 1) {
      *error = "tls_server_config.cipher_suites: this OpenSSL offers none of them: " + opensslError();
      return nullptr;
    }
  }
  if (!settings.curves.empty()) {
    policy->groups = joined(settings.curves);
    if (SSL_CTX_set1_groups_list(context, policy->groups.c_str()) != 1) {
      *error = "tls_server_config.curve_preferences: not accepted by this OpenSSL: " + opensslError();
      return nullptr;
    }
  }
  if (!settings.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (SSL_CTX_load_verify_locations(context, settings.client_ca_file.c_str(), nullptr) != 1 || !names) {
      if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
      *error = "cannot load client CA file " + settings.client_ca_file + ": " + opensslError();
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(context, names);  // named in the CertificateRequest
  }
  switch (settings.client_auth) {
    case ClientAuth::no_client_cert: policy->verify_mode = SSL_VERIFY_NONE; break;
    case ClientAuth::request_client_cert:
      policy->verify_mode = SSL_VERIFY_PEER;
      policy->accept_any_certificate = true;
      break;
    case ClientAuth::require_any_client_cert:
      policy->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      policy->accept_any_certificate = true;
      break;
    case ClientAuth::verify_client_cert_if_given: policy->verify_mode = SSL_VERIFY_PEER; break;
    case ClientAuth::require_and_verify_client_cert:
      policy->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  static constexpr unsigned char kSessionIdContext[] = "wsprobe";
  SSL_CTX_set_session_id_context(context, kSessionIdContext, sizeof kSessionIdContext - 1);
  return policy;
}

// civetweb's context is made once, at start; each connection switches to the
// policy in force when its ClientHello arrives (before the version, suite
// and certificate are chosen), so a reload changes TLS without a restart.
int switchToCurrentPolicy(SSL* ssl, int* alert, void* data) {
  auto* impl = static_cast<HttpServer::Impl*>(data);
  const std::shared_ptr<TlsPolicy> policy = impl->currentTlsPolicy();
  // SSL_set_SSL_CTX takes its own reference: the connection keeps the
  // context even if a reload drops the policy meanwhile.
  if (!policy || SSL_set_SSL_CTX(ssl, policy->context) != policy->context ||
      (!policy->ciphers.empty() && SSL_set_cipher_list(ssl, policy->ciphers.c_str()) != 1) ||
      (!policy->groups.empty() && SSL_set1_groups_list(ssl, policy->groups.c_str()) != 1)) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // What SSL_set_SSL_CTX does not carry over: versions, options, verification.
  SSL_clear_options(ssl, SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3 |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (policy->prefer_server_ciphers) SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_set_min_proto_version(ssl, policy->min_version);
  SSL_set_max_proto_version(ssl, policy->max_version);
  SSL_set_verify(ssl, policy->verify_mode, policy->accept_any_certificate ? acceptAnyCertificate : nullptr);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Replaces civetweb's server-name callback, which would switch the
// connection back to civetweb's own context (we serve one name).
int keepCurrentPolicy(SSL* ssl, int*, void*) {
  return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

// civetweb's init_ssl callback, on its one context: hand every connection
// to the current policy. Returns 1 (done: civetweb loads no files itself).
int initTls(void* ssl_context, void* user_data) {
  auto* context = static_cast<SSL_CTX*>(ssl_context);
  SSL_CTX_set_client_hello_cb(context, switchToCurrentPolicy, user_data);
  SSL_CTX_callback_ctrl(context, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                        reinterpret_cast<void (*)()>(keepCurrentPolicy));
  // A resumed session would skip the client-certificate check of the policy
  // in force now: no session cache, no tickets.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(context, 0);
  return 1;
}

// civetweb's authorization handler for every path: 1 lets the request
// through, 0 means the 401 has been sent.
int authorize(mg_connection* connection, void* data) {
  auto* impl = static_cast<HttpServer::Impl*>(data);
  const auto authenticator = impl->currentAuthenticator();
  if (!authenticator->required()) return 1;
  const char* header = mg_get_header(connection, "Authorization");
  if (authenticator->allows(header ? header : "")) return 1;
  static constexpr char kBody[] = "Unauthorized\n";
  mg_printf(connection,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n",
            BasicAuthenticator::kChallenge, sizeof kBody - 1, impl->currentHeaders()->c_str());
  const mg_request_info* info = mg_get_request_info(connection);
  if (!info->request_method || std::string_view(info->request_method) != "HEAD") {
    mg_write(connection, kBody, sizeof kBody - 1);
  }
  return 0;
}

int dispatch(mg_connection* connection, void* data) {
  const auto* route = static_cast<const HttpServer::Impl::Route*>(data);
  const mg_request_info* info = mg_get_request_info(connection);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "";
  request.query = info->query_string ? info->query_string : "";
  HttpResponse response;
  try {
    response = (*route->handler)(request);
  } catch (const std::exception& error) {
    response = {500, "text/plain; charset=utf-8", std::string("internal error: ") + error.what() + "\n"};
  }
  const char* accept_encoding = mg_get_header(connection, "Accept-Encoding");
  bool gzipped = false;
  if (response.status == 200 && response.body.size() >= kGzipMinimumBytes && accept_encoding &&
      acceptsGzip(accept_encoding)) {
    if (auto compressed = gzipCompress(response.body)) {
      response.body = std::move(*compressed);
      gzipped = true;
    }
  }
  mg_printf(connection, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
            response.status, reasonPhrase(response.status), response.content_type.c_str(),
            response.body.size(), gzipped ? "Content-Encoding: gzip\r\n" : "",
            route->impl->currentHeaders()->c_str());
  if (request.method != "HEAD") mg_write(connection, response.body.data(), response.body.size());
  return response.status;
}

// civetweb keeps its listening socket to itself: found among our descriptors
// by its port. -1 if none.
int listeningSocket(int port) {
  DIR* directory = opendir("/proc/self/fd");
  if (!directory) return -1;
  int found = -1;
  while (const dirent* entry = readdir(directory)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(directory)) continue;
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting) {
      continue;
    }
    sockaddr_in address{};
    socklen_t address_length = sizeof address;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&address), &address_length) == 0 &&
        address.sin_family == AF_INET && ntohs(address.sin_port) == port) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(directory);
  return found;
}

}  // namespace

std::optional<std::string> HttpServer::Impl::apply(const WebSecurity& security) {
  auto next_authenticator = std::make_shared<BasicAuthenticator>(security.basic_auth_users);
  if (auto invalid = next_authenticator->validate()) return invalid;
  std::shared_ptr<TlsPolicy> next_policy;
  if (security.tls) {
    std::string error;
    next_policy = buildTlsPolicy(*security.tls, &error);
    if (!next_policy) return error;
  }
  auto next_headers = std::make_shared<const std::string>(headerLines(security.headers));
  std::lock_guard lock(mutex);
  authenticator = std::move(next_authenticator);
  tls_policy = std::move(next_policy);
  header_lines = std::move(next_headers);
  return std::nullopt;
}

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
  const bool tls = settings.security.tls.has_value();
  std::string error;
  const auto ports = civetwebListeningPort(settings.address, tls, &error);
  if (!ports) return error;
  impl_->tls = tls;
  if (auto invalid = impl_->apply(settings.security)) return invalid;

  const std::string workers = std::to_string(workerThreads());
  std::vector<const char*> options = {"listening_ports",    ports->c_str(),    "num_threads",
                                      workers.c_str(),      "request_timeout_ms", kRequestTimeoutMs,
                                      "enable_keep_alive",  "yes",             "listen_backlog",
                                      kListenBacklog};
  options.push_back(nullptr);
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // quiet
  if (tls) {
    if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0) {
      return "cannot serve HTTPS on " + settings.address + ": civetweb has no TLS";
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
    return "cannot listen on " + settings.address + (error_text[0] ? ": " + std::string(error_text) : "");
  }
  // Authorization first: no handler answers before it is in place. It lets
  // every request through while no users are configured.
  mg_set_auth_handler(impl_->context, "/", authorize, impl_.get());
  for (const auto& [path, handler] : impl_->handlers) {
    impl_->routes.push_back({impl_.get(), &handler});
    mg_set_request_handler(impl_->context, (path + "$").c_str(), dispatch, &impl_->routes.back());
  }
  // Best effort: without it, idle clients take workers as slow ones do.
  const int defer_seconds = kDeferAcceptSeconds;
  if (const int fd = listeningSocket(port()); fd >= 0) {
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
  }
  return std::nullopt;
}

std::optional<std::string> HttpServer::update(const WebSecurity& security) {
  if (security.tls.has_value() != impl_->tls) {
    return std::string("TLS switched ") + (impl_->tls ? "off" : "on") +
           " in the web configuration: that takes a restart";
  }
  return impl_->apply(security);
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
