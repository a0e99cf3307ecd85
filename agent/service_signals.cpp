#include "service_signals.h"

#include <pthread.h>

#include <cerrno>

#ifdef WSPROBE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace wsprobe {

ServiceSignals::ServiceSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGHUP);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is a measurement, not a crash
}

ServiceSignals::Event ServiceSignals::wait() {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set_, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) return Event::reload;
    return Event::stop;
  }
}

#ifdef WSPROBE_HAVE_SYSTEMD
void ServiceSignals::notifyReady() { sd_notify(0, "READY=1\nSTATUS=probing"); }
void ServiceSignals::notifyReloading() { sd_notify(0, "RELOADING=1"); }
void ServiceSignals::notifyStopping() { sd_notify(0, "STOPPING=1"); }
#else
void ServiceSignals::notifyReady() {}
void ServiceSignals::notifyReloading() {}
void ServiceSignals::notifyStopping() {}
#endif

}  // namespace wsprobe
