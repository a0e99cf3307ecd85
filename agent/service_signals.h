// Signals and the service manager, in one place: SIGHUP reloads, SIGTERM and
// SIGINT stop; systemd hears READY, RELOADING and STOPPING (sd_notify).
#pragma once

#include <csignal>

namespace wsprobe {

class ServiceSignals {
 public:
  enum class Event { reload, stop };

  // Blocks SIGHUP, SIGTERM and SIGINT in this thread and every thread it
  // starts afterwards; wait() receives them.
  ServiceSignals();
  Event wait();

  void notifyReady();
  void notifyReloading();
  void notifyStopping();

 private:
  sigset_t set_{};
};

}  // namespace wsprobe
