// The held connection's state machine on simulated time, with a transport of
// the test's own (ConnectionHost): no socket, no libwebsockets.
#include <catch2/catch.hpp>

#include <map>
#include <optional>

#include "probes/heartbeat_schedule.h"
#include "probes/held_connection.h"
#include "probes/probed_target.h"
#include "probes/protocols/protocol_table.h"

using namespace std::chrono_literals;
using namespace wsprobe;

namespace {

constexpr auto at = atOffset;

struct RecordingObserver final : ProbeObserver {
  int attempts = 0;
  int reconnects = 0;  // attempts that replace a connection that had been open
  std::vector<ConnectionFailure> failures;
  std::vector<Duration> handshakes;
  std::vector<ConnectionEnd> ends;
  std::vector<Duration> rtts;
  std::vector<Duration> app_rtts;
  std::vector<Duration> gaps;
  std::map<ConnectionMode, int> open;
  bool up = false;
  std::vector<std::string> detected;
  std::vector<Duration> tcp_rtts;
  std::vector<HandshakePhases> phases;
  std::vector<std::string> order;  // "phases", "failure", "open": what came in which order

  void onHandshakePhases(ConnectionMode, const HandshakePhases& p) override {
    phases.push_back(p);
    order.push_back("phases");
  }
  void onAttempt(ConnectionMode, bool replacing) override {
    ++attempts;
    reconnects += replacing ? 1 : 0;
  }
  void onFailure(ConnectionMode, const ConnectionFailure& failure) override {
    failures.push_back(failure);
    order.push_back("failure");
  }
  void onOpen(ConnectionMode, Duration handshake) override {
    handshakes.push_back(handshake);
    order.push_back("open");
  }
  void onEnd(const ConnectionEnd& end) override { ends.push_back(end); }
  void onRoundTrip(Duration rtt) override { rtts.push_back(rtt); }
  void onOpenCount(ConnectionMode mode, int count) override { open[mode] = count; }
  void onUp(bool is_up) override { up = is_up; }
  void onMessageSent() override {}
  void onMessageReceived() override {}
  void onIdleTimeoutEstimate(double) override {}
  void onAppRoundTrip(Duration rtt) override { app_rtts.push_back(rtt); }
  void onMessageGap(Duration gap) override { gaps.push_back(gap); }
  void onTcpPath(Duration rtt, std::uint32_t) override { tcp_rtts.push_back(rtt); }
  void onProtocolDetected(std::string_view protocol) override { detected.emplace_back(protocol); }
};

// A transport that records what the connection asked of it.
struct FakeTransport final : ConnectionHost {
  struct Written {
    WireFrame frame;
    std::string payload;
  };
  std::vector<Written> written;
  int connects = 0;
  int writable_requests = 0;
  int aborts = 0;
  std::optional<TimePoint> wake;
  lws* const handle = reinterpret_cast<lws*>(this);  // any non-null handle

  bool looks_up = false;  // connect() starts a lookup (the engine with a host name)
  void connect(HeldConnection& connection) override {
    ++connects;
    if (looks_up) {
      connection.onResolving();
      return;
    }
    connection.transportSlot() = handle;
  }
  void wakeAt(DeadlineQueue::Key, TimePoint when) override { wake = when; }
  double unitRandom() override { return 1.0; }
  bool admitAttempt(DeadlineQueue::Key) override { return true; }
  void attemptSettled() override {}
  void requestWritable(HeldConnection&) override { ++writable_requests; }
  bool write(HeldConnection&, WireFrame frame, std::string_view payload) override {
    written.push_back({frame, std::string(payload)});
    return true;
  }
  void abort(HeldConnection&) override { ++aborts; }
  // Frames may go out at once (nothing buffered); the clock a heartbeat's
  // send time is read from.
  bool writable_now = false;
  std::optional<TimePoint> send_time;
  bool writableNow(HeldConnection&) override { return writable_now; }
  TimePoint sendTime(TimePoint event_time) override { return send_time.value_or(event_time); }
  // The kernel's transmit stamp of the last write, if it has one.
  std::optional<TimePoint> transmit_stamp;
  TimePoint sentAt(HeldConnection&, TimePoint read_before) override { return transmit_stamp.value_or(read_before); }
  std::optional<TcpPathStats> tcpStats(HeldConnection&) override {
    return TcpPathStats{std::chrono::microseconds(80), 0};
  }

  // Lets the connection write everything it has queued.
  void drain(HeldConnection& connection, TimePoint now) {
    for (int i = 0; i < 16 && writable_requests > 0; ++i) {
      writable_requests = 0;
      if (!connection.onWritable(now)) return;
    }
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& w : written) {
      if (w.frame == WireFrame::text) out.push_back(w.payload);
    }
    return out;
  }
};

// A protocol of the test's own: "hello" out, ready on "welcome", refused on
// "denied", data on "data", app RTT of 5 ms on "rtt".
class GreetingSession final : public SessionProtocol {
 public:
  void start(const SessionStart&, TimePoint, SessionSink& sink) override { sink.send(MessageKind::text, "hello"); }
  void receive(MessageKind, std::string_view payload, TimePoint, SessionSink& sink) override {
    if (payload == "welcome") sink.sessionReady();
    if (payload == "denied") sink.sessionRefused("denied", "the server said no");
    if (payload == "data") sink.dataMessage();
    if (payload == "rtt") sink.appRoundTrip(5ms);
    if (payload == "bye") sink.sessionEnded(1000, "server ended the session");
  }
  void tick(TimePoint, SessionSink&) override {}
  std::optional<TimePoint> nextWake() const override { return std::nullopt; }
};

const ProtocolEntry kGreeting{
    .name = "greeting",
    .session_keys = {},
    .subprotocols = {},
    .takes_subscribe = true,
    .check_session_value = nullptr,
    .make = [](const SessionSettings&) -> std::unique_ptr<SessionProtocol> {
      return std::make_unique<GreetingSession>();
    },
};

struct Harness {
  explicit Harness(TargetSpec spec, const ProtocolEntry* protocol = nullptr)
      : observer(std::make_shared<RecordingObserver>()), target(std::move(spec), observer) {
    if (protocol) target.protocol = protocol;
  }
  // The target's heartbeat connection, begun (its TCP connect asked for) at `start`.
  HeldConnection& begin(TimePoint start = at(0s)) {
    connection.emplace(target, ConnectionMode::heartbeat, 0, 0, transport);
    connection->begin(start);
    return *connection;
  }
  // The same, begun at 0 and upgraded (its 101 read) at `upgraded`.
  HeldConnection& open(TimePoint upgraded) {
    begin().onEstablished(upgraded, "");
    return *connection;
  }

  std::shared_ptr<RecordingObserver> observer;
  ProbedTarget target;
  FakeTransport transport;
  std::optional<HeldConnection> connection;  // last: it refers to the members above
};

TargetSpec spec(std::string protocol = "raw") {
  TargetSpec spec;
  spec.name = "t";
  spec.url.host = "example.test";
  spec.url.port = 80;
  spec.protocol = std::move(protocol);
  spec.ping_interval = 10s;
  spec.pong_timeout = 3s;
  spec.connect_timeout = 5s;
  return spec;
}

}  // namespace

TEST_CASE("held connection: raw opens at 101, pings on its phase, measures the pong", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.begin(at(100s));
  CHECK(h.transport.connects == 1);
  connection.onEstablished(at(100s + 20ms), "");
  CHECK(connection.phase() == HeldConnection::Phase::open);
  REQUIRE(h.observer->handshakes == std::vector<Duration>{20ms});
  CHECK(h.observer->open[ConnectionMode::heartbeat] == 1);
  // The first ping waits for the connection's phase, at most one interval.
  REQUIRE(h.transport.wake);
  const TimePoint ping_at = *h.transport.wake;
  CHECK(ping_at > at(100s + 20ms));
  CHECK(ping_at <= at(110s + 20ms));
  CHECK(ping_at == nextHeartbeatAt(at(100s + 20ms), 10s, h.target.heartbeatPhase(0)));
  connection.onDeadline(ping_at, 0ms);
  h.transport.drain(connection, ping_at);
  REQUIRE(h.transport.written.size() == 1);
  CHECK(h.transport.written[0].frame == WireFrame::ping);
  connection.onPong(h.transport.written[0].payload, ping_at + 7ms);
  CHECK(h.observer->rtts == std::vector<Duration>{7ms});
  CHECK(h.observer->tcp_rtts == std::vector<Duration>{80us});
  CHECK(h.observer->up);
}

TEST_CASE("held connection: connections of one target ping on phases an even share apart", "[unit]") {
  TargetSpec four = spec();
  four.connections = 4;
  Harness h(four);
  std::vector<Duration> phases;
  for (int i = 0; i < 4; ++i) phases.push_back(h.target.heartbeatPhase(i));
  for (int i = 0; i < 4; ++i) {
    const Duration gap = (phases[(i + 1) % 4] - phases[i] + 10s) % 10s;
    CHECK(gap == 2500ms);
  }
  // The phase does not depend on when a connection opened.
  CHECK(nextHeartbeatAt(at(1000s + 1ms), 10s, phases[1]).time_since_epoch() % 10s == phases[1]);
  CHECK(nextHeartbeatAt(at(2345s + 678ms), 10s, phases[1]).time_since_epoch() % 10s == phases[1]);
}

TEST_CASE("held connection: a missing pong ends it as 1006 pong_timeout", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  const TimePoint ping_at = *h.transport.wake;
  connection.onDeadline(ping_at, 0ms);
  h.transport.drain(connection, ping_at);
  REQUIRE(h.transport.wake == ping_at + 3s);
  connection.onDeadline(ping_at + 3s, 0ms);
  REQUIRE(h.observer->ends.size() == 1);
  CHECK(h.observer->ends[0].cause == CloseCause::pong_timeout);
  CHECK(h.observer->ends[0].code == 1006);
  CHECK(h.transport.aborts == 1);
}

TEST_CASE("held connection: open only when the application session is ready", "[unit]") {
  Harness h(spec("greeting"), &kGreeting);
  HeldConnection& connection = h.open(at(30ms));
  CHECK(connection.phase() == HeldConnection::Phase::session);
  CHECK(h.observer->open[ConnectionMode::heartbeat] == 0);
  h.transport.drain(connection, at(30ms));
  CHECK(h.transport.texts() == std::vector<std::string>{"hello"});
  connection.onData("welcome", MessageKind::text, true, true, at(90ms));
  CHECK(connection.phase() == HeldConnection::Phase::open);
  CHECK(h.observer->open[ConnectionMode::heartbeat] == 1);
  // The handshake time is to the 101, as SPEC defines it.
  CHECK(h.observer->handshakes == std::vector<Duration>{30ms});
  connection.onData("rtt", MessageKind::text, true, true, at(1s));
  CHECK(h.observer->app_rtts == std::vector<Duration>{5ms});
}

TEST_CASE("held connection: a refused session is a failure at stage session, then a retry", "[unit]") {
  Harness h(spec("greeting"), &kGreeting);
  HeldConnection& connection = h.open(at(10ms));
  connection.onData("denied", MessageKind::text, true, true, at(20ms));
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::session);
  CHECK(h.observer->failures[0].status() == "denied");
  CHECK(h.observer->ends.empty());  // it never opened
  h.transport.drain(connection, at(20ms));
  REQUIRE_FALSE(h.transport.written.empty());
  CHECK(h.transport.written.back().frame == WireFrame::close);
  connection.onClosed(at(30ms), 0);
  CHECK(connection.phase() == HeldConnection::Phase::waiting);
  CHECK(h.transport.wake > at(30ms));
}

TEST_CASE("held connection: the server closing during the session handshake is a session failure with its code",
          "[unit]") {
  Harness h(spec("greeting"), &kGreeting);
  HeldConnection& connection = h.open(at(10ms));
  unsigned char close_4408[] = {0x11, 0x38, 'i', 'n', 'i', 't'};
  connection.onPeerClose(close_4408, sizeof close_4408);
  connection.onClosed(at(3s), 0);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::session);
  CHECK(h.observer->failures[0].status() == "4408");
}

TEST_CASE("held connection: a deadline reached before TCP began is stage dns, after it stage timeout",
          "[unit]") {
  const bool resolving = GENERATE(true, false);
  INFO("still resolving: " << resolving);
  Harness h(spec());
  HeldConnection& connection = h.begin();
  if (!resolving) connection.onTcpConnecting();
  REQUIRE(h.transport.wake == at(5s));
  connection.onDeadline(at(5s), 0ms);
  CHECK(h.transport.aborts == 1);
  // libwebsockets reports the abort as a connection error.
  connection.onConnectError(at(5s + 1ms), "Closed before conn", 0);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == (resolving ? FailureStage::dns : FailureStage::timeout));
}

TEST_CASE("held connection: a close frame with an invalid code is a protocol_error, answered with 1002", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(10ms));
  unsigned char close_5000[] = {0x13, 0x88, 'b', 'y', 'e'};  // 5000: no peer may send it
  connection.onPeerClose(close_5000, sizeof close_5000);
  // The payload libwebsockets echoes now carries 1002.
  CHECK(close_5000[0] == 0x03);
  CHECK(close_5000[1] == 0xEA);
  connection.onClosed(at(1s), 0);
  REQUIRE(h.observer->ends.size() == 1);
  CHECK(h.observer->ends[0].code == 1002);
  CHECK(h.observer->ends[0].cause == CloseCause::protocol_error);

  // A valid code passes as the server's own.
  HeldConnection valid(h.target, ConnectionMode::heartbeat, 1, 1, h.transport);
  valid.begin(at(2s));
  valid.onEstablished(at(2s), "");
  unsigned char close_4001[] = {0x0F, 0xA1};
  valid.onPeerClose(close_4001, sizeof close_4001);
  CHECK(close_4001[1] == 0xA1);
  valid.onClosed(at(3s), 0);
  REQUIRE(h.observer->ends.size() == 2);
  CHECK(h.observer->ends[1].code == 4001);
  CHECK(h.observer->ends[1].cause == CloseCause::server_close);
}

TEST_CASE(
    "held connection: every code no peer may send is a protocol_error 1002, a genuine 1002 is the server's",
    "[unit]") {
  Harness h(spec());
  const int code = GENERATE(999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535);
  INFO("code on the wire " << code);
  HeldConnection& connection = h.open(at(10ms));
  unsigned char payload[] = {static_cast<unsigned char>(code >> 8), static_cast<unsigned char>(code & 0xff),
                             'x'};
  connection.onPeerClose(payload, sizeof payload);
  CHECK(payload[0] == 0x03);
  CHECK(payload[1] == 0xEA);
  connection.onClosed(at(1s), 0);
  REQUIRE(h.observer->ends.size() == 1);
  CHECK(h.observer->ends[0].code == 1002);
  CHECK(h.observer->ends[0].cause == CloseCause::protocol_error);

  HeldConnection genuine(h.target, ConnectionMode::heartbeat, 1, 1, h.transport);
  genuine.begin(at(2s));
  genuine.onEstablished(at(2s), "");
  unsigned char close_1002[] = {0x03, 0xEA};
  genuine.onPeerClose(close_1002, sizeof close_1002);
  genuine.onClosed(at(3s), 0);
  REQUIRE(h.observer->ends.size() == 2);
  CHECK(h.observer->ends[1].code == 1002);
  CHECK(h.observer->ends[1].cause == CloseCause::server_close);
}

TEST_CASE("held connection: no session within connect_timeout is a session timeout", "[unit]") {
  Harness h(spec("greeting"), &kGreeting);
  HeldConnection& connection = h.open(at(10ms));
  REQUIRE(h.transport.wake == at(5s));
  connection.onDeadline(at(5s), 0ms);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].status() == "timeout");
}

TEST_CASE("held connection: data that stops flowing ends it as stale, gaps are observed", "[unit]") {
  TargetSpec watched = spec();
  watched.message_timeout = 5s;
  watched.ping_interval = 1h;  // keep heartbeats out of the way
  Harness h(watched);
  HeldConnection& connection = h.open(at(0s));
  connection.onData("tick", MessageKind::text, true, true, at(1s));
  connection.onData("tick", MessageKind::text, true, true, at(3s));
  CHECK(h.observer->gaps == std::vector<Duration>{2s});
  REQUIRE(h.transport.wake == at(8s));
  connection.onDeadline(at(8s), 0ms);
  REQUIRE(h.observer->ends.size() == 1);
  CHECK(h.observer->ends[0].cause == CloseCause::stale);
  CHECK(h.observer->ends[0].code == 1000);
  h.transport.drain(connection, at(8s));
  REQUIRE_FALSE(h.transport.written.empty());
  CHECK(h.transport.written.back().frame == WireFrame::close);
  connection.onClosed(at(8s + 10ms), 0);
  CHECK(connection.phase() == HeldConnection::Phase::waiting);
}

TEST_CASE("held connection: invalid UTF-8 in a text message fails it with 1007", "[unit]") {
  for (const std::string& bad : {std::string("\xC3\x28"), std::string("ok\xED\xA0\x80"), std::string("\xC3")}) {
    Harness h(spec());
    HeldConnection& connection = h.open(at(0s));
    connection.onData(bad, MessageKind::text, true, true, at(1s));
    REQUIRE(h.observer->ends.size() == 1);
    CHECK(h.observer->ends[0].code == 1007);
    CHECK(h.observer->ends[0].cause == CloseCause::protocol_error);
  }
  // Split across pieces, valid text stays valid; binary is not checked.
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  connection.onData("caf\xC3", MessageKind::text, true, false, at(1s));
  connection.onData("\xA9", MessageKind::text, false, true, at(1s));
  connection.onData("\xC3\x28", MessageKind::binary, true, true, at(1s));
  CHECK(h.observer->ends.empty());
}

TEST_CASE("held connection: auto opens a silent server as raw and says so once", "[unit]") {
  Harness h(spec("auto"));
  REQUIRE(h.target.protocol == nullptr);
  HeldConnection& connection = h.open(at(10ms));
  CHECK(connection.phase() == HeldConnection::Phase::open);
  CHECK(h.observer->detected.empty());
  connection.onDeadline(at(10ms) + 2s, 0ms);
  CHECK(h.observer->detected == std::vector<std::string>{"raw"});
  CHECK(h.target.protocol_in_use == "raw");
}

TEST_CASE("held connection: an in-band end of the session is counted with the code it asked for", "[unit]") {
  Harness h(spec("greeting"), &kGreeting);
  HeldConnection& connection = h.open(at(10ms));
  connection.onData("welcome", MessageKind::text, true, true, at(20ms));
  connection.onData("bye", MessageKind::text, true, true, at(5s));
  REQUIRE(h.observer->ends.size() == 1);
  CHECK(h.observer->ends[0].cause == CloseCause::server_close);
  CHECK(h.observer->ends[0].code == 1000);
  CHECK(h.observer->ends[0].reason == "server ended the session");
}

TEST_CASE("held connection: a wake-up within the slack before a ping sends it once, not twice", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  const TimePoint ping_at = *h.transport.wake;
  // Woken 1 ms early with 1 ms of slack: the ping goes now, the next one a whole interval later.
  connection.onDeadline(ping_at - 1ms, 1ms);
  h.transport.drain(connection, ping_at - 1ms);
  REQUIRE(h.transport.written.size() == 1);
  connection.onPong(h.transport.written[0].payload, ping_at);
  CHECK(h.transport.wake == ping_at + 10s);
}

TEST_CASE("held connection: with nothing buffered a due ping is written at once, stamped as it is written",
          "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  const TimePoint ping_at = *h.transport.wake;
  h.transport.writable_now = true;
  h.transport.send_time = ping_at + 40us;
  h.transport.writable_requests = 0;
  connection.onDeadline(ping_at, 0ms);
  CHECK(h.transport.writable_requests == 0);
  REQUIRE(h.transport.written.size() == 1);
  CHECK(h.transport.written[0].frame == WireFrame::ping);
  connection.onPong(h.transport.written[0].payload, ping_at + 1ms);
  CHECK(h.observer->rtts == std::vector<Duration>{1ms - 40us});
  // The pong deadline and the next ping are still kept.
  CHECK(h.transport.wake == ping_at + 10s);
}

TEST_CASE("held connection: a heartbeat's send time is the transport's transmit stamp where it has one", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  TimePoint ping_at = *h.transport.wake;
  h.transport.writable_now = true;
  h.transport.send_time = ping_at + 10us;
  h.transport.transmit_stamp = ping_at + 45us;
  connection.onDeadline(ping_at, 0ms);
  REQUIRE(h.transport.written.size() == 1);
  connection.onPong(h.transport.written[0].payload, ping_at + 1ms);
  // Without a stamp, the time read before the write.
  h.transport.transmit_stamp.reset();
  ping_at = *h.transport.wake;
  h.transport.send_time = ping_at + 10us;
  connection.onDeadline(ping_at, 0ms);
  REQUIRE(h.transport.written.size() == 2);
  connection.onPong(h.transport.written[1].payload, ping_at + 1ms);
  CHECK(h.observer->rtts == std::vector<Duration>{1ms - 45us, 1ms - 10us});
}

TEST_CASE("held connection: a ping waits for the writable callback when the transport is busy or a close came in",
          "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(0s));
  const TimePoint ping_at = *h.transport.wake;
  h.transport.writable_requests = 0;
  connection.onDeadline(ping_at, 0ms);  // writable_now is false: something is buffered
  CHECK(h.transport.written.empty());
  CHECK(h.transport.writable_requests == 1);
  h.transport.drain(connection, ping_at + 2ms);
  REQUIRE(h.transport.written.size() == 1);
  connection.onPong(h.transport.written[0].payload, ping_at + 3ms);
  CHECK(h.observer->rtts == std::vector<Duration>{1ms});

  // The server's close frame came in: no frame may go out ahead of ours.
  h.transport.writable_now = true;
  unsigned char going_away[] = {0x03, 0xe9};
  connection.onPeerClose(going_away, sizeof going_away);
  const TimePoint next_ping = *h.transport.wake;
  connection.onDeadline(next_ping, 0ms);
  CHECK(h.transport.written.size() == 1);
}

namespace {
// A codec that refuses the session and then still touches itself, as
// graphql-ws does (it records why it failed after telling the sink).
struct SelfTouchingSession final : SessionProtocol {
  explicit SelfTouchingSession(std::shared_ptr<int> alive) : alive_(std::move(alive)) { ++*alive_; }
  ~SelfTouchingSession() override { --*alive_; }
  void start(const SessionStart&, TimePoint, SessionSink&) override {}
  void receive(MessageKind, std::string_view, TimePoint, SessionSink& sink) override {
    sink.sessionRefused("bad", "refused");
    alive_during_call = *alive_;
    failed_ = true;
  }
  void tick(TimePoint, SessionSink&) override {}
  std::optional<TimePoint> nextWake() const override { return std::nullopt; }
  static inline int alive_during_call = -1;
  std::shared_ptr<int> alive_;
  bool failed_ = false;
};
const auto kSelfTouchingAlive = std::make_shared<int>(0);
const ProtocolEntry kSelfTouching{
    .name = "self-touching",
    .session_keys = {},
    .subprotocols = {},
    .takes_subscribe = false,
    .check_session_value = nullptr,
    .make = [](const SessionSettings&) -> std::unique_ptr<SessionProtocol> {
      return std::make_unique<SelfTouchingSession>(kSelfTouchingAlive);
    },
};
}  // namespace

TEST_CASE("held connection: a codec that refuses its session from inside its own call is freed after it returns",
          "[unit]") {
  Harness h(spec("self-touching"), &kSelfTouching);
  HeldConnection& connection = h.open(at(10ms));
  REQUIRE(*kSelfTouchingAlive == 1);
  connection.onData("no", MessageKind::text, true, true, at(20ms));
  CHECK(SelfTouchingSession::alive_during_call == 1);
  CHECK(*kSelfTouchingAlive == 0);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::session);
}

TEST_CASE("held connection: the phases of the handshake that opened are reported at the 101", "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.begin();
  connection.onTcpConnecting();
  connection.onTcpConnected();
  connection.onHandshakeRequestSent();
  ConnectionTrace trace;
  trace.dns = ConnectionTrace::Dns::resolved;
  trace.dns_time = 1ms;
  trace.tcp_time = 2ms;
  trace.upgrade_time = 3ms;
  trace.addresses = {"127.0.0.1"};
  connection.onConnectionTrace(trace);
  connection.onEstablished(at(7ms), "");
  REQUIRE(h.observer->phases.size() == 1);
  const auto& phases = h.observer->phases[0];
  CHECK(phases.reached == HandshakePhase::upgrade);
  REQUIRE(phases.completed.size() == 3);  // ws://: no TLS
  CHECK(phases.completed[0] == std::pair{HandshakePhase::dns, Duration(1ms)});
  CHECK(phases.completed[1] == std::pair{HandshakePhase::tcp, Duration(2ms)});
  CHECK(phases.completed[2] == std::pair{HandshakePhase::upgrade, Duration(3ms)});
  CHECK(h.observer->order == std::vector<std::string>{"phases", "open"});
}

TEST_CASE("held connection: a failed attempt's stage is the phase it reached, reported with its phases",
          "[unit]") {
  struct Case {
    const char* what;
    bool secure;
    int marks;  // how many of connecting, connected, request sent the transport reported
    int http_status;
    FailureStage stage;
    HandshakePhase phase;
    std::size_t completed;  // phases gone through
  };
  const auto c = GENERATE(Case{"no address", false, 0, 0, FailureStage::dns, HandshakePhase::dns, 0},
                          Case{"refused", false, 1, 0, FailureStage::tcp, HandshakePhase::tcp, 1},
                          Case{"certificate rejected", true, 2, 0, FailureStage::tls, HandshakePhase::tls, 2},
                          Case{"closed before the answer", false, 3, 0, FailureStage::protocol,
                               HandshakePhase::upgrade, 2},
                          Case{"403", false, 3, 403, FailureStage::http, HandshakePhase::upgrade, 3});
  INFO(c.what);
  TargetSpec target = spec();
  target.url.secure = c.secure;
  Harness h(target);
  HeldConnection& connection = h.begin();
  if (c.marks >= 1) connection.onTcpConnecting();
  if (c.marks >= 2) connection.onTcpConnected();
  if (c.marks >= 3) connection.onHandshakeRequestSent();
  ConnectionTrace trace;
  trace.dns = c.marks == 0 ? ConnectionTrace::Dns::no_result : ConnectionTrace::Dns::resolved;
  trace.dns_time = 1ms;
  if (c.marks >= 2) trace.tcp_time = 2ms;
  if (c.http_status) trace.upgrade_time = 3ms;
  connection.onConnectionTrace(trace);
  // The words libwebsockets uses play no part.
  connection.onConnectError(at(50ms), "some error text", c.http_status);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == c.stage);
  CHECK(h.observer->failures[0].phase == c.phase);
  CHECK(h.observer->failures[0].http_status == (c.stage == FailureStage::http ? c.http_status : 0));
  REQUIRE(h.observer->phases.size() == 1);
  CHECK(h.observer->phases[0].reached == c.phase);
  CHECK(h.observer->phases[0].completed.size() == c.completed);
  CHECK(h.observer->order == std::vector<std::string>{"phases", "failure"});
}

TEST_CASE("held connection: connect_timeout ends an attempt at stage timeout, naming the phase it was in",
          "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.begin();
  connection.onTcpConnecting();
  connection.onDeadline(at(5s), 0ms);
  CHECK(h.transport.aborts == 1);
  connection.onClosed(at(5s + 1ms), 0);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::timeout);
  CHECK(h.observer->failures[0].phase == HandshakePhase::tcp);
  CHECK(h.observer->failures[0].detail == "handshake timed out in the tcp phase");
  REQUIRE(h.observer->phases.size() == 1);
  CHECK(h.observer->phases[0].in_reached == 5s + 1ms);
}

TEST_CASE("held connection: failed attempts are retried after the backoff, growing to its cap", "[unit]") {
  TargetSpec backing_off = spec();
  backing_off.backoff_initial = 100ms;
  backing_off.backoff_max = 800ms;
  backing_off.backoff_multiplier = 2.0;
  Harness h(backing_off);  // the fake transport draws the jitter at its ceiling
  HeldConnection connection(h.target, ConnectionMode::heartbeat, 0, 0, h.transport);
  TimePoint now = at(10s);
  connection.begin(now);
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) {
    const TimePoint refused_at = now + 3ms;  // the server's 503 takes 3 ms
    connection.onConnectError(refused_at, "upgrade refused", 503);
    REQUIRE(h.transport.wake);
    delays.push_back(*h.transport.wake - refused_at);
    now = *h.transport.wake;
    connection.onDeadline(now, 0ms);  // the retry starts
  }
  CHECK(delays == std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 800ms, 800ms});
  CHECK(h.observer->attempts == 7);
  CHECK(h.observer->reconnects == 0);  // none of them replaced an open connection
  CHECK(h.transport.connects == 7);
}

TEST_CASE("held connection: every attempt after an open connection ended is a reconnect, failed ones too",
          "[unit]") {
  Harness h(spec());
  HeldConnection& connection = h.open(at(10ms));
  CHECK(h.observer->reconnects == 0);
  connection.onClosed(at(1s), 0);  // dropped
  connection.onDeadline(*h.transport.wake, 0ms);
  CHECK(h.observer->attempts == 2);
  CHECK(h.observer->reconnects == 1);
  connection.onConnectError(*h.transport.wake - 1ms, "refused", 0);  // the replacement fails
  connection.onDeadline(*h.transport.wake, 0ms);
  CHECK(h.observer->reconnects == 2);
  connection.onEstablished(*h.transport.wake - 1ms, "");
  REQUIRE(h.observer->handshakes.size() == 2);
  connection.closeByAgent(1000, at(60s));
  connection.onClosed(at(60s), 0);
  CHECK(h.observer->attempts == 3);  // the attempts count one more than the reconnects: the first
  CHECK(h.observer->reconnects == 2);
}

TEST_CASE("held connection: a lookup the host still runs at connect_timeout is abandoned as stage dns",
          "[unit]") {
  Harness h(spec());
  h.transport.looks_up = true;
  HeldConnection connection(h.target, ConnectionMode::heartbeat, 0, 0, h.transport);
  connection.begin(at(0s));
  CHECK(connection.resolving());
  CHECK(connection.phase() == HeldConnection::Phase::connecting);
  CHECK(h.observer->failures.empty());  // no transport yet is not a refusal
  REQUIRE(h.transport.wake == at(5s));
  connection.onDeadline(at(5s), 0ms);
  CHECK(h.transport.aborts == 1);  // the host forgets the lookup
  CHECK_FALSE(connection.resolving());
  // No transport will report the end: the attempt fails at once, and retries later.
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::dns);
  CHECK(h.observer->failures[0].detail == "the name did not resolve within connect_timeout");
  CHECK(connection.phase() == HeldConnection::Phase::waiting);
  REQUIRE(h.transport.wake);
  CHECK(*h.transport.wake > at(5s));
}

TEST_CASE("held connection: the host's lookup time is the DNS phase, not the handover's", "[unit]") {
  Harness h(spec());
  h.transport.looks_up = true;
  HeldConnection connection(h.target, ConnectionMode::heartbeat, 0, 0, h.transport);
  connection.begin(at(0s));
  connection.onResolved(300ms);
  connection.transportSlot() = h.transport.handle;
  connection.onTcpConnecting();
  connection.onTcpConnected();
  connection.onHandshakeRequestSent();
  ConnectionTrace trace;
  trace.dns = ConnectionTrace::Dns::resolved;
  trace.dns_time = 5us;  // libwebsockets timed the handover of the answer
  trace.tcp_time = 2ms;
  trace.upgrade_time = 3ms;
  connection.onConnectionTrace(trace);
  connection.onEstablished(at(310ms), "");
  REQUIRE(h.observer->phases.size() == 1);
  REQUIRE_FALSE(h.observer->phases[0].completed.empty());
  CHECK(h.observer->phases[0].completed[0] == std::pair{HandshakePhase::dns, Duration(300ms)});
}

TEST_CASE("held connection: a lookup the host reports failed is stage dns", "[unit]") {
  Harness h(spec());
  h.transport.looks_up = true;
  HeldConnection connection(h.target, ConnectionMode::heartbeat, 0, 0, h.transport);
  connection.begin(at(0s));
  connection.onResolved(20ms);
  ConnectionTrace trace;
  trace.dns = ConnectionTrace::Dns::no_result;
  trace.dns_time = 20ms;
  connection.onConnectionTrace(trace);
  connection.onConnectError(at(20ms), "DNS lookup failed: Name or service not known", 0);
  REQUIRE(h.observer->failures.size() == 1);
  CHECK(h.observer->failures[0].stage == FailureStage::dns);
  CHECK(h.transport.aborts == 0);
}
