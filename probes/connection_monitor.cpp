#include "probes/connection_monitor.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netdb.h>

#include <algorithm>

namespace wsprobe {

namespace {

std::string numericAddress(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (!address) return {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
  }
  return text;
}

Duration microseconds(lws_conmon_interval_us_t interval) { return std::chrono::microseconds(interval); }

ConnectionTrace::Dns dnsOutcome(lws_conmon_dns_disposition_t disposition) {
  switch (disposition) {
    case LWSCONMON_DNS_OK:
      return ConnectionTrace::Dns::resolved;
    case LWSCONMON_DNS_SERVER_UNREACHABLE:
      return ConnectionTrace::Dns::unreachable;
    case LWSCONMON_DNS_NO_RESULT:
      return ConnectionTrace::Dns::no_result;
    case LWSCONMON_DNS_NONE:
      break;
  }
  return ConnectionTrace::Dns::not_asked;
}

}  // namespace

ConnectionTrace takeConnectionTrace(lws* wsi) {
  lws_conmon record{};
  lws_conmon_wsi_take(wsi, &record);
  ConnectionTrace trace;
  trace.dns = dnsOutcome(record.dns_disposition);
  trace.dns_time = microseconds(record.ciu_dns);
  trace.tcp_time = microseconds(record.ciu_sockconn);
  trace.tls_time = microseconds(record.ciu_tls);
  trace.upgrade_time = microseconds(record.ciu_txn_resp);
  trace.peer = numericAddress(reinterpret_cast<const sockaddr*>(&record.peer46));
  // libwebsockets prepends each answer it copies: the list is in reverse
  // order, and may repeat an address (one answer per socket type).
  for (const addrinfo* answer = record.dns_results_copy; answer; answer = answer->ai_next) {
    std::string address = numericAddress(answer->ai_addr);
    if (!address.empty() &&
        std::find(trace.addresses.begin(), trace.addresses.end(), address) == trace.addresses.end()) {
      trace.addresses.push_back(std::move(address));
    }
  }
  std::reverse(trace.addresses.begin(), trace.addresses.end());
  lws_conmon_release(&record);
  return trace;
}

}  // namespace wsprobe
