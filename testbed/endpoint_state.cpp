#include "testbed/endpoint_state.h"

#include <algorithm>
#include <cmath>

namespace wsprobe::endpoints {

void EndpointState::recordAccept() {
  std::lock_guard lock(mutex_);
  ++observations_.connections_accepted;
}

void EndpointState::recordRequest(SeenRequest request) {
  std::lock_guard lock(mutex_);
  observations_.requests.push_back(std::move(request));
}

bool EndpointState::refuseThisUpgrade() {
  if (behaviour_.refuse_status == 0) return false;
  // Parts per million, in integers so that the pattern is exact: request n
  // is refused when ceil(n * fraction) steps up, which spreads the refusals
  // evenly and refuses the first one.
  constexpr std::uint64_t kMillion = 1'000'000;
  const auto ppm = static_cast<std::uint64_t>(
      std::llround(std::clamp(behaviour_.refuse_fraction, 0.0, 1.0) * double{kMillion}));
  auto refusedBy = [&](std::uint64_t n) { return (n * ppm + kMillion - 1) / kMillion; };
  std::lock_guard lock(mutex_);
  const std::uint64_t n = ++valid_upgrade_requests_;
  const bool refuse = refusedBy(n) > refusedBy(n - 1);
  if (refuse) ++observations_.upgrades_refused;
  return refuse;
}

EndpointState::Upgrade EndpointState::recordUpgrade() {
  std::lock_guard lock(mutex_);
  const Upgrade upgrade{next_id_++, static_cast<std::size_t>(observations_.upgrades_completed)};
  ++observations_.upgrades_completed;
  observations_.open_ids.push_back(upgrade.id);
  return upgrade;
}

void EndpointState::recordEnd(std::uint64_t id, bool abnormal) {
  std::lock_guard lock(mutex_);
  auto& ids = observations_.open_ids;
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (abnormal) ++observations_.abnormal_closures;
}

void EndpointState::recordCloseCode(int code) {
  std::lock_guard lock(mutex_);
  observations_.close_codes.push_back(code);
}

void EndpointState::recordPing() {
  std::lock_guard lock(mutex_);
  ++observations_.pings;
}

void EndpointState::recordPong() {
  std::lock_guard lock(mutex_);
  ++observations_.pongs;
}

void EndpointState::recordPingSent() {
  std::lock_guard lock(mutex_);
  ++observations_.pings_sent;
}

void EndpointState::recordPongReceived() {
  std::lock_guard lock(mutex_);
  ++observations_.pongs_received;
}

void EndpointState::recordMessage() {
  std::lock_guard lock(mutex_);
  ++observations_.messages;
}

}  // namespace wsprobe::endpoints
