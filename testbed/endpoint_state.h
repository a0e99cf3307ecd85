// What the connections of one endpoint share: the behaviour, the TLS context,
// and the record of what the server saw (read by tests through
// MisbehavingEndpoint). Thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <mutex>
#include <vector>

#include "testbed/misbehaving_endpoint.h"

namespace wsprobe::endpoints {

struct Observations {
  int connections_accepted = 0;
  int upgrades_completed = 0;
  int upgrades_refused = 0;
  std::vector<std::uint64_t> open_ids;  // in upgrade order
  std::vector<int> close_codes;
  int abnormal_closures = 0;
  std::vector<SeenRequest> requests;
  int pings = 0;
  int pongs = 0;
  int pings_sent = 0;
  int pongs_received = 0;
  int messages = 0;
};

class EndpointState {
 public:
  // `tls` may be null (plain ws://); it outlives this object.
  EndpointState(EndpointBehaviour behaviour, SSL_CTX* tls)
      : behaviour_(std::move(behaviour)), tls_(tls) {}

  const EndpointBehaviour& behaviour() const { return behaviour_; }
  SSL_CTX* tls() const { return tls_; }

  void recordAccept();
  void recordRequest(SeenRequest request);
  // Counts one valid upgrade request and says whether refuse_fraction picks
  // it for refusal (and if so records the refusal).
  bool refuseThisUpgrade();
  struct Upgrade {
    std::uint64_t id;       // 1, 2, ... per endpoint
    std::size_t sequence;   // 0, 1, ...: picks from close_codes in turn
  };
  Upgrade recordUpgrade();
  // An upgraded connection ended; `abnormal`: the client left with no close frame.
  void recordEnd(std::uint64_t id, bool abnormal);
  void recordCloseCode(int code);
  void recordPing();
  void recordPong();
  void recordPingSent();
  void recordPongReceived();
  void recordMessage();

  // Runs `read` on the observations under the lock and returns its result.
  template <typename Read>
  auto read(Read read) const {
    std::lock_guard lock(mutex_);
    return read(observations_);
  }

 private:
  const EndpointBehaviour behaviour_;
  SSL_CTX* const tls_;
  mutable std::mutex mutex_;
  Observations observations_;
  std::uint64_t valid_upgrade_requests_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace wsprobe::endpoints
