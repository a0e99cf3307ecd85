#include "engine.h"

#include <libwebsockets.h>
#if defined(LWS_WITH_LIBEV)
#include <ev.h>
#endif
#include <openssl/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>
#include <linux/net_tstamp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "probes/attempt_pacer.h"
#include "probes/connection_monitor.h"
#include "probes/held_connection.h"
#include "probes/library_allocator.h"
#include "probes/name_resolver.h"
#include "probes/probed_target.h"
#include "probes/prepared_request.h"
#include "probes/tls_session_info.h"
#include "probes/url_credentials.h"

// Set, our libwebsockets calls it instead of getaddrinfo() (see answerLookup).
extern "C" int (*lws_client_getaddrinfo_override)(const char* host, const addrinfo* hints, addrinfo** result);

namespace wsprobe {

namespace {

constexpr const char* kProtocolName = "wsprobe-client";
// Chunk size libwebsockets hands us per read; kept small because every
// connection holds one (this plus LWS_PRE and 4 bytes). Heartbeat answers are
// tens of bytes; larger frames arrive in pieces and are put together again
// (HeldConnection::onData). Not below 125: lws collects a control frame's
// payload (a server's ping, a close reason) whole in this buffer.
constexpr std::size_t kReceiveBuffer = 128;
// A wave of at least this many attempts that has settled (none in flight or
// waiting) returns the heap pages it freed, this long after it settled.
constexpr int kAttemptsPerTrim = 64;
constexpr lws_usec_t kTrimDelayUs = 500 * 1000;

// lws_now_usecs() reads CLOCK_MONOTONIC, the clock of steady_clock.
TimePoint monotonicNow() { return TimePoint(std::chrono::microseconds(lws_now_usecs())); }

// A kernel stamp (CLOCK_REALTIME nanoseconds) on the monotonic clock of
// TimePoint, moved by its age; none when there is no stamp, or it is from the
// future or older than a second (a clock step, or a read long gone).
[[maybe_unused]] std::optional<TimePoint> monotonicOfStamp(std::int64_t stamp_ns) {
  if (stamp_ns <= 0) return std::nullopt;
  timespec real{};
  clock_gettime(CLOCK_REALTIME, &real);
  const std::int64_t age_ns = std::int64_t{real.tv_sec} * 1000000000 + real.tv_nsec - stamp_ns;
  if (age_ns < 0 || age_ns > 1000000000) return std::nullopt;
  timespec mono{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return TimePoint(std::chrono::nanoseconds(std::int64_t{mono.tv_sec} * 1000000000 + mono.tv_nsec - age_ns));
}

// When what libwebsockets just handed over reached this host: the kernel's
// software receive stamp of the read that brought it (SO_TIMESTAMPNS, turned
// on for plain ws:// connections at the upgrade; a patch of ours makes lws
// keep it, scripts/debian-source/libwebsockets-rx-kernel-stamp.patch), not
// the later moment the callback runs: a pong that waited in the socket while
// the service thread was busy is not counted as the server's time. Else (TLS
// reads go through OpenSSL, or no stamp yet) `now`.
TimePoint receivedAt(lws* wsi, TimePoint now) {
#if defined(LWS_HAS_RX_KERNEL_STAMP)
  return monotonicOfStamp(lws_get_rx_kernel_stamp_ns(wsi)).value_or(now);
#else
  static_cast<void>(wsi);
  return now;
#endif
}

// When a frame just written left for the wire: the kernel's software
// transmit stamp of the send() that carried it, taken as the packet is handed
// to the network device (SO_TIMESTAMPING, turned on with the receive stamps;
// libwebsockets reads it from the socket's error queue right after send(),
// scripts/debian-source/libwebsockets-tx-kernel-stamp.patch). The clock read
// before the write is tens of microseconds earlier on a VM: send() itself
// takes that long before the packet leaves (tests/integration/
// wire_truth_test.cpp). A stamp older than that read is an earlier send's:
// then, as over TLS or when TCP holds the segment back (stamped later), the
// read before the write is the send time.
TimePoint transmittedAt(lws* wsi, TimePoint read_before) {
#if defined(LWS_HAS_TX_KERNEL_STAMP)
  const std::optional<TimePoint> stamped = monotonicOfStamp(lws_get_tx_kernel_stamp_ns(wsi));
  return stamped && *stamped >= read_before ? *stamped : read_before;
#else
  static_cast<void>(wsi);
  return read_before;
#endif
}

// Turns on the kernel's receive and transmit stamps for a plain connection's
// socket (see receivedAt, transmittedAt).
void stampAtTheKernel(lws* wsi) {
#if defined(LWS_HAS_RX_KERNEL_STAMP)
  if (lws_is_ssl(wsi)) return;
  const lws_sockfd_type fd = lws_get_socket_fd(wsi);
  if (fd < 0) return;
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
#if defined(LWS_HAS_TX_KERNEL_STAMP)
  // Software transmit stamps, reported without the packet. The receive
  // filter keeps them from also coming with every read as SCM_TIMESTAMPING
  // (SO_TIMESTAMPNS's stamp is the one read); kernels before 6.9 refuse it.
  constexpr int kOptRxFilter = 1 << 17;  // SOF_TIMESTAMPING_OPT_RX_FILTER, not in Debian 12's headers
  const int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;
  for (const int with : {flags | kOptRxFilter, flags}) {
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &with, sizeof with) == 0) {
      lws_keep_tx_kernel_stamps(wsi);
      return;
    }
  }
#endif
#else
  static_cast<void>(wsi);
#endif
}

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);

// Options of the context and of every vhost. The origin goes out as
// configured (lws would otherwise prefix "http://"). No TLS session cache: a
// resumed session skips certificate verification, and a resumed handshake is
// not what a new client lives through.
constexpr std::uint64_t kVhostOptions = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                                        LWS_SERVER_OPTION_VALIDATE_UTF8 |
                                        LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN |
                                        LWS_SERVER_OPTION_DISABLE_TLS_SESSION_CACHE;

// No libwebsockets validity checks: its defaults send a ping of its own after
// 300 s without traffic (activity on the idle probe, which must send nothing)
// and hang up 10 s later without a close frame; they also re-sort a timer per
// connection on every frame received. wsprobe keeps its own heartbeats.
const lws_retry_bo_t kNoValidityChecks = {nullptr, 0, 0, 0, 0, 0};

// Whether the peer has not ended TCP. libwebsockets ends a connection itself
// when it rejects a frame (an illegal opcode, reserved bits), without
// recording a close code; a peer that left instead makes recv() report the
// end (0, or an error).
bool peerStillConnected(lws* wsi) {
  const lws_sockfd_type fd = lws_get_socket_fd(wsi);
  if (fd < 0) return false;
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

// Our libwebsockets asks this instead of getaddrinfo() for a client
// connection's lookup (scripts/debian-source/libwebsockets-getaddrinfo-override.patch).
// The engine has looked the name up on a resolver thread already: the answer
// is handed over for the one connect call it is meant for (service thread).
struct PreparedLookup {
  const char* host = nullptr;
  addrinfo* list = nullptr;
};
thread_local PreparedLookup prepared_lookup;

int answerLookup(const char* host, const addrinfo* hints, addrinfo** result) {
  if (prepared_lookup.list && std::strcmp(host, prepared_lookup.host) == 0) {
    *result = std::exchange(prepared_lookup.list, nullptr);
    return 0;
  }
  // Not one the engine prepared (a numeric address): as libwebsockets would.
  return getaddrinfo(host, nullptr, hints, result);
}

const lws_protocols kProtocols[] = {
    {kProtocolName, callback, 0, kReceiveBuffer, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

}  // namespace

struct Engine::Impl final : ConnectionHost {
  explicit Impl(Settings engine_settings) : settings(engine_settings) {}

  Settings settings;
  lws_context* context = nullptr;
#if defined(LWS_WITH_LIBEV)
  // The event loop libwebsockets runs on: libev picks epoll, so a wake-up
  // costs the same however many sockets are held (lws' own loop is poll()).
  struct ev_loop* loop = nullptr;
#endif
  std::thread service_thread;
  // The service loop runs while set; cleared by shutdown() once the close
  // handshakes are over (or their grace has passed).
  std::atomic<bool> running{false};

  // Work handed over by other threads, run on the service thread.
  std::mutex commands_mutex;
  std::vector<std::function<void()>> commands;
  // Under commands_mutex: work is taken only from start() until shutdown()
  // begins. post() wakes the context while holding the mutex, so no call
  // reaches a context that is gone, and every command taken is run (the
  // service thread runs what is left when it stops). A call into an engine
  // not started or stopped is a no-op: status() is empty.
  bool accepting = false;

  // Service-thread state.
  struct TimerHook {
    lws_sorted_usec_list_t sul;  // first member: the callback casts back
    Impl* impl;
  } timer{};
  std::optional<TimePoint> timer_armed_for;
  bool in_timer = false;  // onTimer is running: it arms the timer when done
  // Frames are written from here: libwebsockets wants LWS_PRE bytes of room
  // before the payload. Service thread only.
  std::vector<unsigned char> write_buffer;
  // Attempts holding a place among those in flight, and those waiting for
  // one (FIFO; an entry whose connection has gone or started is skipped).
  int attempts_in_flight = 0;
  std::deque<DeadlineQueue::Key> waiting_for_place;
  // The pace at which attempts start (waiting ones too), and when the
  // deadline timer starts the next waiting ones (a place is free, the pace
  // holds them).
  AttemptPacer attempt_pacer{settings.attempts_per_second, settings.attempts_burst};
  std::optional<TimePoint> admit_at;
  // Handshakes hold memory only while in flight (lws' header tables, about
  // 4.7 KB each, and the client stash), interleaved on the heap with what
  // held connections keep; once a wave of attempts (a start, a reload, a mass
  // reconnect) has settled, the pages they freed go back to the system.
  TimerHook trim_timer{};
  int settled_since_trim = 0;
  static void trimHeap(lws_sorted_usec_list_t* sul);
  DeadlineQueue deadlines;
  std::vector<DeadlineQueue::Key> due_keys;
  std::vector<std::unique_ptr<HeldConnection>> slots;  // by key
  std::vector<DeadlineQueue::Key> free_keys;
  std::map<std::string, std::unique_ptr<ProbedTarget>> targets;
  std::map<std::string, lws_vhost*> vhosts_by_trust;  // by TLS trust settings
  std::mt19937_64 random{std::random_device{}()};
  // Set by the shutdown command: every target is removed and the close
  // handshakes are under way. `drained` is set once no connection is live
  // any more; shutdown() waits on it, at most for its grace.
  bool draining = false;
  bool drained_signalled = false;
  std::promise<void> drained;

  // Lookups under way on the resolver's threads: the connection of each
  // ticket, and the ticket of each connection (service thread).
  std::unordered_map<std::uint64_t, HeldConnection*> lookups;
  std::unordered_map<const HeldConnection*, std::uint64_t> lookup_of;
  void onResolved(NameResolver::Answer answer);
  void forgetLookup(const HeldConnection* connection);
  // Hands the connection to libwebsockets (its name looked up already, or numeric).
  void connectTransport(HeldConnection& connection);

  // ConnectionHost
  void connect(HeldConnection& connection) override;
  void wakeAt(DeadlineQueue::Key key, TimePoint when) override;
  void requestWritable(HeldConnection& connection) override;
  bool write(HeldConnection& connection, WireFrame frame, std::string_view payload) override;
  bool writableNow(HeldConnection& connection) override;
  TimePoint sendTime(TimePoint) override { return monotonicNow(); }
  TimePoint sentAt(HeldConnection& connection, TimePoint read_before) override;
  void abort(HeldConnection& connection) override;
  std::optional<TcpPathStats> tcpStats(HeldConnection& connection) override;
  std::optional<ConnectionFailure> prepareAttempt(HeldConnection& connection) override;
  // The attempt's request with ${file:...} credentials read (by connection).
  std::unordered_map<const HeldConnection*, PreparedRequest> prepared;
  bool admitAttempt(DeadlineQueue::Key key) override;
  void attemptSettled() override;
  // Arms admit_at when attempts wait and a place is free.
  void scheduleAdmission();
  // Starts waiting attempts as places and the pace allow (deadline timer).
  void admitWaiting(TimePoint now);
  double unitRandom() override {
    if (settings.unit_random) return settings.unit_random();
    return std::uniform_real_distribution<double>(0.0, 1.0)(random);
  }

  // False (and nothing is run) when the engine is not running.
  bool post(std::function<void()> command);
  bool postAndWait(std::function<void()> command);
  void runCommands();
  void serve();
  void serviceOnce();
  // Arms the one timer for the earliest deadline (or `also_at`, if sooner).
  void armTimer(std::optional<TimePoint> also_at = std::nullopt);
  void onTimer();
  static void timerFired(lws_sorted_usec_list_t* sul);
#if defined(LWS_WITH_LIBEV)
  // The deadline timer is a timerfd, to the nanosecond: libev's own timers
  // wait in epoll_wait's whole milliseconds (rounded up), so a wake-up came
  // up to a millisecond late and sent every heartbeat due meanwhile in one
  // burst, which the server then answered one after another (issue 9).
  int deadline_fd = -1;
  ev_io deadline_watcher{};
  static void deadlineTimerFired(struct ev_loop*, ev_io* watcher, int);
  std::optional<TimePoint> serveLibraryTimers(TimePoint now);
#endif

  DeadlineQueue::Key newSlot(ProbedTarget& target, ConnectionMode mode, int index);
  void release(DeadlineQueue::Key key);
  lws_vhost* vhostFor(const TlsSettings& tls);
  void add(const TargetSpec& spec, std::shared_ptr<ProbeObserver> observer);
  void remove(const std::string& name, int code);
  bool anyConnectionLive() const;

  // Last, so it stops first: its threads hand answers to the service thread
  // through post() until then.
  NameResolver resolver{[this](NameResolver::Answer answer) {
    if (!post([this, answer] { onResolved(answer); }) && answer.list) freeaddrinfo(answer.list);
  }};
};

namespace {

HeldConnection* connectionOf(lws* wsi) {
  return static_cast<HeldConnection*>(lws_wsi_user(wsi));
}

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
      auto* impl = static_cast<Engine::Impl*>(lws_context_user(lws_get_context(wsi)));
      if (impl) impl->runCommands();
      return 0;
    }
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: {
      // `user` is the X509_STORE_CTX here; `len` is OpenSSL's verdict.
      auto* connection = connectionOf(wsi);
      if (!connection) return 0;
      std::string problem;
      if (!len && user) {
        const int error = X509_STORE_CTX_get_error(static_cast<X509_STORE_CTX*>(user));
        problem = std::string("certificate verify failed: ") + X509_verify_cert_error_string(error);
      }
      connection->onTlsVerification(problem);
      return 0;
    }
    default:
      break;
  }

  auto* connection = static_cast<HeldConnection*>(user);
  if (!connection) return 0;
  const TimePoint now = monotonicNow();
  // The handshake's end: what the connection monitor timed goes with it.
  const auto take_trace = [&] {
    if (connection->phase() == HeldConnection::Phase::connecting) connection->onConnectionTrace(takeConnectionTrace(wsi));
  };
  switch (reason) {
    case LWS_CALLBACK_CONNECTING:  // the lookup is done, connect() is next
      connection->onTcpConnecting();
      return 0;
    case LWS_CALLBACK_WSI_CREATE:  // for a client: the TCP connection is up
      connection->onTcpConnected();
      return 0;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
      connection->onHandshakeRequestSent();
      const ProbedTarget* target = connection->target();
      if (!target) return 0;
      auto** position = static_cast<unsigned char**>(in);
      unsigned char* end = *position + len;
      auto add = [&](const std::string& name, const std::string& value) {
        const std::string with_colon = name + ":";
        return lws_add_http_header_by_name(
            wsi, reinterpret_cast<const unsigned char*>(with_colon.c_str()),
            reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
            position, end);
      };
      // The headers with ${file:...} credentials as read for this attempt.
      const auto* impl = static_cast<Engine::Impl*>(lws_context_user(lws_get_context(wsi)));
      const PreparedRequest* request = nullptr;
      if (impl) {
        const auto found = impl->prepared.find(connection);
        if (found != impl->prepared.end()) request = &found->second;
      }
      const auto& headers = request ? request->headers : target->spec.headers;
      for (const auto& [name, value] : headers) {
        if (add(name, value)) return -1;
      }
      if (!target->basic_authorization.empty() &&
          add("Authorization", target->basic_authorization)) {
        return -1;
      }
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
      const int status = static_cast<int>(lws_http_client_http_response(wsi));
      const std::string_view message =
          in ? std::string_view(static_cast<const char*>(in), strnlen(static_cast<const char*>(in), 512))
             : std::string_view("connection error");
      take_trace();
      connection->onConnectError(now, message, status);
      return 0;
    }
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: {
      // The response headers are still there (they are gone by ESTABLISHED):
      // the subprotocol the server picked decides the application protocol.
      char picked[128] = {0};
      const int n = lws_hdr_copy(wsi, picked, sizeof picked, WSI_TOKEN_PROTOCOL);
      connection->onUpgradeResponse(std::string_view(picked, n > 0 ? static_cast<std::size_t>(n) : 0));
      return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
      // The request went out: its prepared strings are not needed any more
      // (about 110 bytes a held connection).
      if (auto* impl = static_cast<Engine::Impl*>(lws_context_user(lws_get_context(wsi)))) {
        impl->prepared.erase(connection);
      }
      if (const auto tls = readTlsSession(lws_get_ssl(wsi)); tls && connection->target()) {
        connection->target()->observer->onTlsSession(tls->version, tls->cipher, tls->earliest_not_after);
      }
      take_trace();
      stampAtTheKernel(wsi);
      connection->onEstablished(now, {});
      return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
      connection->onPong(std::string_view(static_cast<const char*>(in), len), receivedAt(wsi, now));
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      // first/final per piece: libwebsockets hands a frame over in chunks
      // (remaining_packet_payload) and a message in fragments.
      connection->onData(std::string_view(static_cast<const char*>(in), len),
                         lws_frame_is_binary(wsi) ? MessageKind::binary : MessageKind::text,
                         lws_is_first_fragment(wsi) != 0,
                         lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0, now);
      return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      connection->onPeerClose(static_cast<unsigned char*>(in), len);
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return connection->onWritable(now) ? 0 : -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP: {
      // Ended by libwebsockets while wsprobe was not closing it: after the
      // peer's close, or for a frame it failed (connection_end.h).
      const bool upgraded = connection->phase() == HeldConnection::Phase::open ||
                            connection->phase() == HeldConnection::Phase::session;
      if (upgraded) {
        const int length = lws_get_close_length(wsi);
        const std::string_view library_close(reinterpret_cast<const char*>(lws_get_close_payload(wsi)),
                                              length > 0 ? static_cast<std::size_t>(length) : 0);
        if (const auto code = libraryCloseViolation(connection->sawPeerClose(), library_close,
                                                    !connection->sawPeerClose() && peerStillConnected(wsi))) {
          connection->onProtocolViolation(*code);
        }
      }
      take_trace();
      connection->onClosed(now, static_cast<int>(lws_http_client_http_response(wsi)));
      return 0;
    }
    case LWS_CALLBACK_WSI_DESTROY: {
      auto* impl = static_cast<Engine::Impl*>(lws_context_user(lws_get_context(wsi)));
      if (connection->onTransportDestroyed(wsi, now) && impl) impl->release(connection->key());
      return 0;
    }
    default:
      return 0;
  }
}

}  // namespace

void Engine::Impl::connect(HeldConnection& connection) {
  const std::string& host = connection.target()->spec.url.host;
  if (isNumericHost(host)) return connectTransport(connection);
  const std::uint64_t ticket = resolver.resolve(host);
  lookups[ticket] = &connection;
  lookup_of[&connection] = ticket;
  connection.onResolving();
}

void Engine::Impl::forgetLookup(const HeldConnection* connection) {
  auto found = lookup_of.find(connection);
  if (found == lookup_of.end()) return;
  lookups.erase(found->second);
  lookup_of.erase(found);
}

void Engine::Impl::onResolved(NameResolver::Answer answer) {
  auto found = lookups.find(answer.ticket);
  if (found == lookups.end()) {  // abandoned: timed out, or the target went
    if (answer.list) freeaddrinfo(answer.list);
    return;
  }
  HeldConnection& connection = *found->second;
  lookup_of.erase(found->second);
  lookups.erase(found);
  const TimePoint now = monotonicNow();
  connection.onResolved(answer.took);
  if (answer.status != 0) {
    ConnectionTrace trace;
    trace.dns = answer.status == EAI_NONAME || answer.status == EAI_NODATA
                    ? ConnectionTrace::Dns::no_result
                    : ConnectionTrace::Dns::unreachable;
    trace.dns_time = answer.took;
    connection.onConnectionTrace(std::move(trace));
    connection.onConnectError(now, std::string("DNS lookup failed: ") + gai_strerror(answer.status), 0);
    return;
  }
  prepared_lookup = {connection.target()->spec.url.host.c_str(), answer.list};
  connectTransport(connection);
  if (prepared_lookup.list) freeaddrinfo(prepared_lookup.list);  // not asked for
  prepared_lookup = {};
  // No callback and no transport: the attempt was refused outright.
  if (connection.phase() == HeldConnection::Phase::connecting && !connection.hasTransport()) {
    connection.onConnectError(now, "connect failed", 0);
  }
}

void Engine::Impl::connectTransport(HeldConnection& connection) {
  const ProbedTarget& target = *connection.target();
  const TargetSpec& spec = target.spec;
  lws_client_connect_info info{};
  info.context = context;
  info.vhost = target.vhost;
  info.address = spec.url.host.c_str();
  info.port = spec.url.port;
  const PreparedRequest& request = prepared[&connection];  // by prepareAttempt
  info.path = request.path.c_str();
  info.host = spec.tls.server_name.empty() ? spec.url.host.c_str() : spec.tls.server_name.c_str();
  info.origin = request.origin.empty() ? nullptr : request.origin.c_str();
  info.protocol = target.subprotocols_header.empty() ? nullptr : target.subprotocols_header.c_str();
  info.local_protocol_name = kProtocolName;
  info.ietf_version_or_minus_one = -1;
  info.userdata = &connection;
  info.retry_and_idle_policy = &kNoValidityChecks;
  info.pwsi = &connection.transportSlot();
  info.ssl_connection = LCCSCF_CONMON;  // phase times and DNS answers of this connection
  if (spec.url.secure) {
    info.ssl_connection |= LCCSCF_USE_SSL;
    if (spec.tls.insecure_skip_verify) {
      info.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                             LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    // lws 4.1 cannot upgrade over h2 and then neither errors nor closes.
    info.alpn = "http/1.1";
  }
  lws_client_connect_via_info(&info);
}

void Engine::Impl::requestWritable(HeldConnection& connection) {
  if (lws* wsi = connection.transportSlot()) lws_callback_on_writable(wsi);
}

bool Engine::Impl::write(HeldConnection& connection, WireFrame frame, std::string_view payload) {
  lws* wsi = connection.transportSlot();
  if (!wsi) return false;
  if (frame == WireFrame::close) {
    const int code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) |
                                               static_cast<unsigned char>(payload[1])
                                         : close_code::normal;
    lws_close_reason(wsi, static_cast<lws_close_status>(code), nullptr, 0);
    return true;
  }
  write_buffer.resize(LWS_PRE + payload.size());
  std::copy(payload.begin(), payload.end(), write_buffer.begin() + LWS_PRE);
  lws_write_protocol protocol = LWS_WRITE_TEXT;
  if (frame == WireFrame::ping) protocol = LWS_WRITE_PING;
  if (frame == WireFrame::binary) protocol = LWS_WRITE_BINARY;
  return lws_write(wsi, write_buffer.data() + LWS_PRE, payload.size(), protocol) >= 0;
}

// A heartbeat may be written from the deadline timer, outside the writable
// callback lws_write()'s documentation asks for, when nothing of the
// connection is still buffered (lws_partial_buffered). What that rule
// protects, checked in the libwebsockets 4.3 sources:
// - Frame order. lws_issue_raw() appends to buflist_out whatever send() did
//   not take (EAGAIN, a partial write, a TLS WANT_WRITE) and asks for
//   writable itself; with nothing buffered, no frame of ours is half sent,
//   and a control frame may go between whole messages (RFC 6455 5.4).
// - Its own control frames: a pending pong or the echo of the server's close
//   are sent from lws' POLLOUT handling before the user callback; a ping
//   ahead of a pong is harmless, and HeldConnection writes nothing once a
//   close frame came in or one of ours is due.
// - Re-entrancy: the timer runs from the event loop on the service thread,
//   never inside a callback of this wsi; client masking
//   (lws_0405_frame_mask_generate) and the LWS_PRE header room work the
//   same from anywhere. No extension (permessage-deflate) is built in, so no
//   tx draining state (tx_draining_ext) exists.
// - Failure: a send error marks the socket unusable and returns -1, as in the
//   callback; the connection is then killed instead of returning -1.
// lws_send_pipe_choked() is not asked: it costs a poll() per ping, and a full
// socket buffer is handled by the buffering above.
bool Engine::Impl::writableNow(HeldConnection& connection) {
  lws* wsi = connection.transportSlot();
  return wsi != nullptr && !lws_partial_buffered(wsi);
}

TimePoint Engine::Impl::sentAt(HeldConnection& connection, TimePoint read_before) {
  lws* wsi = connection.transportSlot();
  return wsi ? transmittedAt(wsi, read_before) : read_before;
}

void Engine::Impl::abort(HeldConnection& connection) {
  forgetLookup(&connection);
  if (lws* wsi = connection.transportSlot()) lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

std::optional<TcpPathStats> Engine::Impl::tcpStats(HeldConnection& connection) {
  lws* wsi = connection.transportSlot();
  if (!wsi) return std::nullopt;
  const lws_sockfd_type fd = lws_get_socket_fd(wsi);
  if (fd < 0) return std::nullopt;
  tcp_info info{};
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
  TcpPathStats stats;
  stats.smoothed_rtt = std::chrono::microseconds(info.tcpi_rtt);
  stats.total_retransmits = info.tcpi_total_retrans;
  return stats;
}

void Engine::Impl::wakeAt(DeadlineQueue::Key key, TimePoint when) {
  deadlines.schedule(key, when);
  // Inside onTimer the timer is armed once, at its end.
  if (!in_timer && (!timer_armed_for || when < *timer_armed_for)) armTimer();
}

void Engine::Impl::armTimer(std::optional<TimePoint> also_at) {
  std::optional<TimePoint> next = deadlines.next();
  for (const auto& at : {also_at, admit_at}) {
    if (at && (!next || *at < *next)) next = at;
  }
  timer_armed_for = next;
#if defined(LWS_WITH_LIBEV)
  // Absolute, on CLOCK_MONOTONIC (the clock of TimePoint); a time already
  // past fires at once. All zero disarms.
  itimerspec when{};
  if (next) {
    const auto ns = std::max<std::int64_t>(1, std::chrono::duration_cast<Duration>(next->time_since_epoch()).count());
    when.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    when.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  timerfd_settime(deadline_fd, TFD_TIMER_ABSTIME, &when, nullptr);
#else
  if (!next) {
    lws_sul_cancel(&timer.sul);
    return;
  }
  const Duration delay = std::max(Duration::zero(), *next - monotonicNow());
  lws_sul_schedule(context, 0, &timer.sul, &Impl::timerFired,
                   std::chrono::duration_cast<std::chrono::microseconds>(delay).count());
#endif
}

void Engine::Impl::timerFired(lws_sorted_usec_list_t* sul) { reinterpret_cast<TimerHook*>(sul)->impl->onTimer(); }

#if defined(LWS_WITH_LIBEV)
void Engine::Impl::deadlineTimerFired(struct ev_loop*, ev_io* watcher, int) {
  std::uint64_t expirations = 0;
  if (::read(watcher->fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN) return;  // re-armed meanwhile
  static_cast<Impl*>(watcher->data)->onTimer();
}

// libwebsockets' libev glue re-arms its own timer with ev_timer_set on a
// watcher that may still be active, which libev ignores: its timers can be
// moved later but never earlier, and then run late. This timer, on the loop
// wsprobe owns, runs them when they are due (and is never inside an lws
// callback when it does). Returns when the next one is due.
std::optional<TimePoint> Engine::Impl::serveLibraryTimers(TimePoint now) {
  const int ms = lws_service_adjust_timeout(context, 1000, 0);
  // 0: a connection wants forced service, which the glue's idle watcher does.
  return now + std::chrono::milliseconds(ms > 0 ? ms : 50);
}
#endif

void Engine::Impl::onTimer() {
  timer_armed_for.reset();
  in_timer = true;
  const TimePoint now = monotonicNow();
#if defined(LWS_WITH_LIBEV)
  serveLibraryTimers(now);
#endif
  // Deadlines within the slack are served now, with the deadline-time they
  // asked for, so one wake-up handles a batch of connections.
  due_keys.clear();
  deadlines.popDue(now + settings.timer_slack, due_keys);
  for (const auto key : due_keys) {
    if (key < slots.size() && slots[key]) slots[key]->onDeadline(now, settings.timer_slack);
  }
  if (admit_at && *admit_at <= now + settings.timer_slack) admitWaiting(now);
  std::optional<TimePoint> library_next;
#if defined(LWS_WITH_LIBEV)
  // Again: what the deadlines just did (a kill, a connect) may be due now.
  library_next = serveLibraryTimers(monotonicNow());
#endif
  in_timer = false;
  armTimer(library_next);
}

bool Engine::Impl::admitAttempt(DeadlineQueue::Key key) {
  // First come, first served: none passes those already waiting.
  if (waiting_for_place.empty() && attempts_in_flight < settings.max_attempts_in_flight &&
      attempt_pacer.take(monotonicNow())) {
    ++attempts_in_flight;
    return true;
  }
  waiting_for_place.push_back(key);
  scheduleAdmission();
  return false;
}

void Engine::Impl::scheduleAdmission() {
  if (waiting_for_place.empty() || attempts_in_flight >= settings.max_attempts_in_flight) return;
  const TimePoint when = attempt_pacer.nextFree(monotonicNow());
  if (admit_at && *admit_at <= when) return;
  admit_at = when;
  if (!in_timer) armTimer();
}

void Engine::Impl::admitWaiting(TimePoint now) {
  admit_at.reset();
  while (attempts_in_flight < settings.max_attempts_in_flight && !waiting_for_place.empty() &&
         attempt_pacer.take(now)) {
    const auto key = waiting_for_place.front();
    waiting_for_place.pop_front();
    if (key < slots.size() && slots[key]) {
      // The connection owns the place once it takes it (and settles it).
      ++attempts_in_flight;
      if (!slots[key]->onAdmitted(now)) --attempts_in_flight;
    }
  }
  scheduleAdmission();
}

void Engine::Impl::attemptSettled() {
  --attempts_in_flight;
  // The next one starts from the deadline timer, not from inside the
  // libwebsockets callback that settled this one.
  scheduleAdmission();
  ++settled_since_trim;
  if (context && attempts_in_flight == 0 && waiting_for_place.empty() && settled_since_trim >= kAttemptsPerTrim) {
    lws_sul_schedule(context, 0, &trim_timer.sul, &Impl::trimHeap, kTrimDelayUs);
  }
}

void Engine::Impl::trimHeap(lws_sorted_usec_list_t* sul) {
  Impl& impl = *reinterpret_cast<TimerHook*>(sul)->impl;
  if (impl.attempts_in_flight > 0) return;  // a new wave: trim after it
  impl.settled_since_trim = 0;
  malloc_trim(0);
}

DeadlineQueue::Key Engine::Impl::newSlot(ProbedTarget& target, ConnectionMode mode, int index) {
  DeadlineQueue::Key key;
  if (!free_keys.empty()) {
    key = free_keys.back();
    free_keys.pop_back();
  } else {
    key = static_cast<DeadlineQueue::Key>(slots.size());
    slots.emplace_back();
  }
  slots[key] = std::make_unique<HeldConnection>(target, mode, index, key, *this);
  return key;
}

std::optional<ConnectionFailure> Engine::Impl::prepareAttempt(HeldConnection& connection) {
  auto outcome = prepareRequest(connection.target()->spec, readWholeFile, random());
  if (auto* failure = std::get_if<ConnectionFailure>(&outcome)) {
    prepared.erase(&connection);
    return std::move(*failure);
  }
  prepared[&connection] = std::move(std::get<PreparedRequest>(outcome));
  return std::nullopt;
}

void Engine::Impl::release(DeadlineQueue::Key key) {
  prepared.erase(slots[key].get());
  forgetLookup(slots[key].get());
  deadlines.cancel(key);
  slots[key].reset();
  free_keys.push_back(key);
}

lws_vhost* Engine::Impl::vhostFor(const TlsSettings& tls) {
  // Trust settings live on a vhost in libwebsockets (the CA file), and
  // connections of one vhost share TLS state: one vhost per CA file and
  // verification mode, so an insecure target never lends anything to a
  // verifying one.
  const std::string key = (tls.insecure_skip_verify ? "insecure:" : "verify:") + tls.ca_file;
  auto found = vhosts_by_trust.find(key);
  if (found != vhosts_by_trust.end()) return found->second;
  lws_context_creation_info info{};
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = kProtocols;
  info.options = kVhostOptions;
  info.retry_and_idle_policy = &kNoValidityChecks;
  const std::string name = "trust-" + std::to_string(vhosts_by_trust.size());
  info.vhost_name = name.c_str();
  if (!tls.ca_file.empty()) info.client_ssl_ca_filepath = tls.ca_file.c_str();
  lws_vhost* vhost = lws_create_vhost(context, &info);
  vhosts_by_trust[key] = vhost;
  return vhost;
}

void Engine::Impl::add(const TargetSpec& spec, std::shared_ptr<ProbeObserver> observer) {
  if (targets.count(spec.name)) remove(spec.name, close_code::normal);
  auto target = std::make_unique<ProbedTarget>(spec, std::move(observer));
  target->vhost = vhostFor(spec.tls);
  target->basic_authorization = basicAuthorization(spec.url.userinfo);
  const TimePoint now = monotonicNow();
  for (int i = 0; i < spec.connections; ++i) {
    target->connections.push_back(newSlot(*target, ConnectionMode::heartbeat, i));
  }
  if (spec.idle_probe) {
    target->connections.push_back(newSlot(*target, ConnectionMode::idle, spec.connections));
  }
  ProbedTarget& held = *target;
  targets[spec.name] = std::move(target);
  for (const auto key : held.connections) slots[key]->begin(now);
}

void Engine::Impl::remove(const std::string& name, int code) {
  auto found = targets.find(name);
  if (found == targets.end()) return;
  const TimePoint now = monotonicNow();
  for (const auto key : found->second->connections) {
    HeldConnection& connection = *slots[key];
    connection.closeByAgent(code, now);
    connection.detach();
    if (!connection.hasTransport()) release(key);
  }
  targets.erase(found);
}

bool Engine::Impl::anyConnectionLive() const {
  return std::any_of(slots.begin(), slots.end(),
                     [](const auto& slot) { return slot && slot->hasTransport(); });
}

bool Engine::Impl::post(std::function<void()> command) {
  std::lock_guard lock(commands_mutex);
  if (!accepting) return false;
  commands.push_back(std::move(command));
  lws_cancel_service(context);
  return true;
}

bool Engine::Impl::postAndWait(std::function<void()> command) {
  std::promise<void> done;
  auto finished = done.get_future();
  if (!post([&] {
        command();
        done.set_value();
      })) {
    return false;
  }
  finished.wait();
  return true;
}

void Engine::Impl::runCommands() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(commands_mutex);
    batch.swap(commands);
  }
  for (auto& command : batch) command();
}

void Engine::Impl::serviceOnce() {
#if defined(LWS_WITH_LIBEV)
  ev_run(loop, EVRUN_ONCE);  // until at least one event (a socket, a timer, a cancel)
#else
  lws_service(context, 0);
#endif
}

void Engine::Impl::serve() {
  while (running) {
    serviceOnce();
    if (draining && !drained_signalled && !anyConnectionLive()) {
      drained_signalled = true;
      drained.set_value();
    }
  }
  runCommands();  // what was taken before shutdown() stopped taking work
}

Engine::Engine() : Engine(Settings{}) {}
Engine::Engine(Settings settings) : impl_(std::make_unique<Impl>(settings)) {}

Engine::~Engine() { shutdown(Duration::zero()); }

bool Engine::start(std::string* error) {
  lws_set_log_level(LLL_ERR, nullptr);
  // Room for many sockets, without libwebsockets sizing its tables for the
  // hard limit (often a million descriptors: megabytes of tables).
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, 65536);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = wanted;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  lws_context_creation_info info{};
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = kProtocols;
  info.options = kVhostOptions;
  info.retry_and_idle_policy = &kNoValidityChecks;
  info.user = impl_.get();
  // Names are looked up off the service thread. Set once, before any
  // service thread reads it.
  static std::once_flag hooked;
  std::call_once(hooked, [] { lws_client_getaddrinfo_override = answerLookup; });
  info.fd_limit_per_thread = static_cast<unsigned int>(wanted);
  info.count_threads = 1;
#if defined(LWS_WITH_LIBEV)
  impl_->loop = ev_loop_new(EVFLAG_AUTO);
  if (!impl_->loop) {
    if (error) *error = "cannot create the event loop (libev)";
    return false;
  }
  void* foreign_loops[] = {impl_->loop};
  info.options |= LWS_SERVER_OPTION_LIBEV;
  info.foreign_loops = foreign_loops;
  impl_->deadline_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (impl_->deadline_fd < 0) {
    if (error) *error = std::string("cannot create the deadline timer: ") + std::strerror(errno);
    ev_loop_destroy(impl_->loop);
    impl_->loop = nullptr;
    return false;
  }
  ev_io_init(&impl_->deadline_watcher, &Impl::deadlineTimerFired, impl_->deadline_fd, EV_READ);
  impl_->deadline_watcher.data = impl_.get();
  // Below libwebsockets' sockets: of what one epoll_wait returned, the pongs
  // already waiting are read (and stamped) before the due pings are written.
  ev_set_priority(&impl_->deadline_watcher, EV_MINPRI);
  ev_io_start(impl_->loop, &impl_->deadline_watcher);
#endif
  // Process-wide and idempotent (probes/library_allocator.h: header tables
  // on pages of their own); blocks it did not map go to realloc/free.
  lws_set_allocator(allocateForLibrary);
  impl_->context = lws_create_context(&info);
  if (!impl_->context) {
    if (error) *error = "cannot create the libwebsockets context";
#if defined(LWS_WITH_LIBEV)
    ev_io_stop(impl_->loop, &impl_->deadline_watcher);
    ::close(impl_->deadline_fd);
    impl_->deadline_fd = -1;
    ev_loop_destroy(impl_->loop);
    impl_->loop = nullptr;
#endif
    return false;
  }
  impl_->vhosts_by_trust["verify:"] = lws_get_vhost_by_name(impl_->context, "default");
  impl_->timer.impl = impl_.get();
  impl_->trim_timer.impl = impl_.get();
  impl_->running = true;
  impl_->service_thread = std::thread([impl = impl_.get()] { impl->serve(); });
  std::lock_guard lock(impl_->commands_mutex);
  impl_->accepting = true;
  return true;
}

void Engine::addTarget(const TargetSpec& spec, std::shared_ptr<ProbeObserver> observer) {
  impl_->post([impl = impl_.get(), spec, observer = std::move(observer)]() mutable {
    impl->add(spec, std::move(observer));
  });
}

void Engine::removeTarget(const std::string& name, int close_code) {
  impl_->postAndWait([impl = impl_.get(), &name, close_code] { impl->remove(name, close_code); });
}

void Engine::shutdown(Duration grace) {
  Impl& impl = *impl_;
  std::future<void> drained;
  {
    std::lock_guard lock(impl.commands_mutex);
    if (!impl.accepting) return;  // never started, or stopped (or stopping) already
    impl.accepting = false;
    drained = impl.drained.get_future();
    // The last command: close everything with 1001 (the ends are reported
    // first), then the service thread says when nothing is live any more.
    impl.commands.push_back([&impl] {
      std::vector<std::string> names;
      for (const auto& [name, target] : impl.targets) names.push_back(name);
      for (const auto& name : names) impl.remove(name, close_code::going_away);
      impl.draining = true;
    });
    lws_cancel_service(impl.context);
  }
  // Let the close handshakes finish, then stop whatever is still open.
  drained.wait_for(grace);
  impl.running = false;
  lws_cancel_service(impl.context);  // the service thread is the only one left using it
  impl.service_thread.join();
  impl.resolver.stop();  // no more answers: lookups still running are freed on their threads
  lws_context_destroy(impl.context);
  impl.context = nullptr;
#if defined(LWS_WITH_LIBEV)
  ev_io_stop(impl.loop, &impl.deadline_watcher);
  ::close(impl.deadline_fd);
  impl.deadline_fd = -1;
  ev_loop_destroy(impl.loop);
  impl.loop = nullptr;
#endif
}

std::vector<TargetStatus> Engine::status() {
  std::vector<TargetStatus> result;
  impl_->postAndWait([&, impl = impl_.get()] {
    const TimePoint now = monotonicNow();
    for (const auto& [name, target] : impl->targets) {
      TargetStatus status;
      status.name = name;
      status.up = target->up();
      status.protocol = target->spec.protocol;
      status.protocol_in_use = target->protocol ? std::string(target->protocol->name) : target->protocol_in_use;
      for (const auto key : target->connections) status.connections.push_back(impl->slots[key]->status(now));
      result.push_back(std::move(status));
    }
  });
  return result;
}

std::string Engine::libraryVersion() { return lws_get_library_version(); }

bool Engine::kernelReceiveStamps() {
#if defined(LWS_HAS_RX_KERNEL_STAMP)
  return true;
#else
  return false;
#endif
}

bool Engine::kernelTransmitStamps() {
#if defined(LWS_HAS_TX_KERNEL_STAMP)
  return true;
#else
  return false;
#endif
}

}  // namespace wsprobe
