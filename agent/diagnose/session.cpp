#include "agent/diagnose/session.h"

#include <cstdio>
#include <mutex>
#include <thread>

#include "agent/config.h"
#include "agent/diagnose/report.h"
#include "agent/diagnose/verdict.h"
#include "probes/probe_observer.h"

namespace wsprobe::diagnose {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string fixed(const char* format, double value) {
  char text[48];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// What the engine reports, kept for the report and the progress line. The
// engine's service thread writes; the session's thread reads.
class Recorder {
 public:
  explicit Recorder(Clock::time_point started) : started_(started) {}

  void attempt(Probe probe) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    seen_.of(probe).attempts++;
  }
  void failure(Probe probe, const ConnectionFailure& failure) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    const Duration at = Clock::now() - started_;
    seen_.of(probe).failures.push_back(
        {failure.stage, failure.http_status, failure.detail, at, failure.session_status});
    const std::string what = failure.stage == FailureStage::http
                                 ? "refused with HTTP " + std::to_string(failure.http_status)
                                 : std::string(toString(failure.stage)) + " failure: " + failure.detail;
    event(at, std::string(title(probe)) + " could not open: " + what);
  }
  void open(Probe probe, Duration handshake) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    const auto now = Clock::now();
    seen_.of(probe).handshakes.push_back(handshake);
    live_[index(probe)].open_since = now;
    event(now - started_, std::string(title(probe)) + " open (handshake " + formatDuration(handshake) + ")");
  }
  void end(Probe probe, const ConnectionEnd& end) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    const Duration at = Clock::now() - started_;
    seen_.of(probe).ends.push_back({end.code, end.cause, end.reason, end.lifetime, at});
    live_[index(probe)].open_since.reset();
    event(at, std::string(title(probe)) + " dropped: " + std::to_string(end.code) + " " +
                  std::string(toString(end.cause)) + " after " + fixed("%.2f s", seconds(end.lifetime)));
  }
  void phases(const HandshakePhases& phases) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    for (const auto& [phase, time] : phases.completed) seen_.phases.of(phase).push_back(time);
    if (!phases.addresses.empty()) seen_.phases.addresses = phases.addresses;
    if (!phases.peer.empty()) seen_.phases.peer = phases.peer;
  }
  void roundTrip(Probe probe, Duration rtt) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    seen_.of(probe).rtts.push_back(rtt);
    live_[index(probe)].last_rtt = rtt;
  }
  void appRoundTrip(Probe probe, Duration rtt) {
    std::lock_guard lock(mutex_);
    if (!finished_) seen_.of(probe).app_rtts.push_back(rtt);
  }
  void tcpPath(Probe probe, Duration smoothed_rtt) {
    std::lock_guard lock(mutex_);
    if (!finished_) seen_.of(probe).tcp_rtts.push_back(smoothed_rtt);
  }
  void protocolDetected(std::string_view protocol) {
    std::lock_guard lock(mutex_);
    if (finished_ || seen_.protocol_in_use == protocol) return;
    seen_.protocol_in_use = std::string(protocol);
    event(Clock::now() - started_, "protocol: " + seen_.protocol_in_use);
  }
  void messageSent(Probe probe) {
    std::lock_guard lock(mutex_);
    if (!finished_) seen_.of(probe).messages_sent++;
  }
  void messageReceived(Probe probe) {
    std::lock_guard lock(mutex_);
    if (!finished_) seen_.of(probe).messages_received++;
  }

  void markRunning(Probe probe) {
    std::lock_guard lock(mutex_);
    seen_.of(probe).ran = true;
  }

  // Ends the record: what happens after (wsprobe's own closes) is not seen.
  Observations finish(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    for (const Probe probe : kProbes) {
      if (const auto since = live_[index(probe)].open_since) seen_.of(probe).open_at_finish = now - *since;
    }
    seen_.ran = now - started_;
    return seen_;
  }

  // Event lines not yet shown.
  std::vector<std::string> takeEvents() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, {});
  }

  // No connection could open: three failed attempts each and no open at all.
  bool hopeless() const {
    std::lock_guard lock(mutex_);
    bool any_ran = false;
    for (const Probe probe : kProbes) {
      const ProbeRecord& record = seen_.of(probe);
      if (!record.ran) continue;
      any_ran = true;
      if (record.opens() > 0 || record.failures.size() < 3) return false;
    }
    return any_ran;
  }

  std::string statusLine(Clock::time_point now, Duration planned) const {
    std::lock_guard lock(mutex_);
    std::string line =
        "[" + fixed("%.0f", seconds(now - started_)) + "/" + formatSeconds(seconds(planned)) + "]";
    for (const Probe probe : kProbes) {
      const ProbeRecord& record = seen_.of(probe);
      if (!record.ran) continue;
      const Live& live = live_[index(probe)];
      line += " " + std::string(key(probe)) + ": ";
      if (live.open_since) {
        line += "open " + fixed("%.0f s", seconds(now - *live.open_since));
      } else {
        line += record.attempts ? "connecting" : "waiting";
      }
      if (live.last_rtt) line += ", rtt " + formatDuration(*live.last_rtt);
      if (!record.ends.empty()) line += ", " + std::to_string(record.ends.size()) + " dropped";
      if (!record.failures.empty()) line += ", " + std::to_string(record.failures.size()) + " failed";
      line += " |";
    }
    line.pop_back();
    return line;
  }

 private:
  struct Live {
    std::optional<Clock::time_point> open_since;
    std::optional<Duration> last_rtt;
  };
  static std::size_t index(Probe probe) { return static_cast<std::size_t>(probe); }
  void event(Duration at, std::string text) {
    events_.push_back("[" + fixed("%6.1f s", seconds(at)) + "] " + std::move(text));
  }

  const Clock::time_point started_;
  mutable std::mutex mutex_;
  Observations seen_;
  std::array<Live, 3> live_{};
  std::vector<std::string> events_;
  bool finished_ = false;
};

// One target's reports, routed to the probes they belong to.
class ProbeReporter final : public ProbeObserver {
 public:
  ProbeReporter(Recorder& recorder, Probe heartbeat) : recorder_(recorder), heartbeat_(heartbeat) {}

  void onAttempt(ConnectionMode mode, bool) override { recorder_.attempt(probe(mode)); }
  void onFailure(ConnectionMode mode, const ConnectionFailure& failure) override {
    recorder_.failure(probe(mode), failure);
  }
  void onHandshakePhases(ConnectionMode, const HandshakePhases& phases) override { recorder_.phases(phases); }
  void onOpen(ConnectionMode mode, Duration handshake) override { recorder_.open(probe(mode), handshake); }
  void onEnd(const ConnectionEnd& end) override { recorder_.end(probe(end.mode), end); }
  void onRoundTrip(Duration rtt) override { recorder_.roundTrip(heartbeat_, rtt); }
  void onOpenCount(ConnectionMode, int) override {}
  void onUp(bool) override {}
  void onMessageSent() override { recorder_.messageSent(heartbeat_); }
  void onMessageReceived() override { recorder_.messageReceived(heartbeat_); }
  void onIdleTimeoutEstimate(double) override {}
  void onAppRoundTrip(Duration rtt) override { recorder_.appRoundTrip(heartbeat_, rtt); }
  void onTcpPath(Duration smoothed_rtt, std::uint32_t) override {
    recorder_.tcpPath(heartbeat_, smoothed_rtt);
  }
  void onProtocolDetected(std::string_view protocol) override { recorder_.protocolDetected(protocol); }

 private:
  Probe probe(ConnectionMode mode) const { return mode == ConnectionMode::idle ? Probe::idle : heartbeat_; }
  Recorder& recorder_;
  Probe heartbeat_;
};

TargetSpec specFor(const Request& request, Probe probe) {
  TargetSpec spec;
  spec.name = "diagnose-" + std::string(key(probe));
  spec.url = request.url;
  spec.connections = probe == Probe::idle ? 0 : 1;
  spec.idle_probe = probe == Probe::idle;
  // The diagnosis closes the idle connection itself when it ends.
  spec.idle_probe_max = request.duration + std::chrono::hours(1);
  spec.heartbeat = probe == Probe::message ? Heartbeat::message : Heartbeat::ping;
  spec.heartbeat_message = request.message;
  spec.heartbeat_expect = request.expect;
  spec.ping_interval = request.ping_interval;
  spec.pong_timeout = request.pong_timeout;
  spec.connect_timeout = request.connect_timeout;
  spec.backoff_initial = 500ms;
  spec.backoff_max = 5s;
  spec.subprotocols = request.subprotocols;
  spec.origin = request.origin;
  spec.headers = request.headers;
  spec.tls = request.tls;
  spec.protocol = request.protocol;
  return spec;
}

}  // namespace


Observations run(const Request& request, ProgressOutput progress, const std::atomic<bool>& stop) {
  const Clock::time_point started = Clock::now();
  Recorder recorder(started);
  std::vector<Probe> probes = {Probe::ping, Probe::idle};
  if (!request.message.empty()) probes.push_back(Probe::message);
  for (const Probe probe : probes) recorder.markRunning(probe);

  Engine engine(request.engine);
  std::string error;
  bool engine_started = engine.start(&error);
  std::size_t next_probe = 0;
  std::string shown_line;
  const auto show = [&](Clock::time_point now, bool final_update) {
    if (!progress.stream) return;
    std::ostream& out = *progress.stream;
    const auto events = recorder.takeEvents();
    if (progress.terminal) {
      if (!events.empty() || !shown_line.empty()) out << "\r\x1b[K";
      for (const auto& line : events) out << line << "\n";
      if (!final_update) {
        shown_line = recorder.statusLine(now, request.duration);
        if (progress.columns > 1 && shown_line.size() >= progress.columns)
          shown_line.resize(progress.columns - 1);
        out << shown_line;
      } else {
        shown_line.clear();
      }
    } else {
      for (const auto& line : events) out << line << "\n";
    }
    out.flush();
  };
  if (progress.stream) {
    *progress.stream << "diagnosing " << request.url.redacted() << " for "
                     << formatSeconds(seconds(request.duration)) << ": " << probes.size()
                     << " connections (pinged every " << wsprobe::formatDuration(request.ping_interval)
                     << ", idle"
                     << (request.message.empty()
                             ? ""
                             : ", data frames every " + wsprobe::formatDuration(request.ping_interval))
                     << ")\n";
  }

  bool interrupted = false;
  Clock::time_point now = Clock::now();
  const Clock::time_point end_at = started + std::chrono::duration_cast<Clock::duration>(request.duration);
  while (engine_started && now < end_at) {
    while (next_probe < probes.size() &&
           now >= started + std::chrono::duration_cast<Clock::duration>(request.stagger *
                                                                        static_cast<int>(next_probe))) {
      const Probe probe = probes[next_probe++];
      engine.addTarget(specFor(request, probe), std::make_shared<ProbeReporter>(recorder, probe));
    }
    if (stop) {
      interrupted = true;
      break;
    }
    if (next_probe == probes.size() && recorder.hopeless()) break;
    show(now, false);
    std::this_thread::sleep_for(std::min<Clock::duration>(200ms, end_at - now));
    now = Clock::now();
  }
  Observations seen = recorder.finish(Clock::now());
  show(Clock::now(), true);
  if (engine_started && seen.protocol_in_use.empty()) {
    // The engine's own decision (raw where auto recognised nothing).
    for (const auto& status : engine.status()) {
      if (!status.protocol_in_use.empty()) {
        seen.protocol_in_use = status.protocol_in_use;
        break;
      }
    }
  }
  if (engine_started) engine.shutdown(1s);
  if (!engine_started) seen.engine_error = "cannot start the engine: " + error;
  seen.url = request.url.redacted();
  seen.secure = request.url.secure;
  seen.planned = request.duration;
  seen.interrupted = interrupted;
  seen.ping_interval = request.ping_interval;
  seen.pong_timeout = request.pong_timeout;
  seen.message = request.message;
  seen.expect = request.expect;
  for (const auto& [name, value] : request.headers) seen.header_names.push_back(name);
  seen.subprotocols = request.subprotocols;
  seen.protocol = request.protocol;
  if (seen.protocol_in_use.empty() && request.protocol != "auto") seen.protocol_in_use = request.protocol;
  return seen;
}

}  // namespace wsprobe::diagnose
