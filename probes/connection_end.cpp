#include "connection_end.h"

namespace wsprobe {

std::string_view toString(ConnectionMode mode) {
  switch (mode) {
    case ConnectionMode::heartbeat: return "heartbeat";
    case ConnectionMode::idle: return "idle";
  }
  return "unknown";
}

std::string_view toString(CloseCause cause) {
  switch (cause) {
    case CloseCause::server_close: return "server_close";
    case CloseCause::abnormal: return "abnormal";
    case CloseCause::pong_timeout: return "pong_timeout";
    case CloseCause::protocol_error: return "protocol_error";
    case CloseCause::agent: return "agent";
  }
  return "unknown";
}

std::string_view toString(FailureStage stage) {
  switch (stage) {
    case FailureStage::dns: return "dns";
    case FailureStage::tcp: return "tcp";
    case FailureStage::tls: return "tls";
    case FailureStage::http: return "http";
    case FailureStage::timeout: return "timeout";
    case FailureStage::protocol: return "protocol";
  }
  return "unknown";
}

ConnectionEnd classify(const CloseObservation& seen, ConnectionMode mode, Duration lifetime) {
  ConnectionEnd end;
  end.mode = mode;
  end.lifetime = lifetime;
  // What wsprobe decided first wins over what followed from it: a connection
  // dropped for a missing pong is not "abnormal" because its TCP then ended.
  if (seen.agent_close_code) {
    end.code = *seen.agent_close_code;
    end.cause = CloseCause::agent;
    end.reason = "closed by wsprobe";
  } else if (seen.pong_overdue) {
    end.code = close_code::abnormal;
    end.cause = CloseCause::pong_timeout;
    end.reason = "no heartbeat answer within pong_timeout";
  } else if (seen.protocol_close_code) {
    end.code = *seen.protocol_close_code;
    end.cause = CloseCause::protocol_error;
    end.reason = "server broke the protocol";
  } else if (seen.server_close_code) {
    end.code = *seen.server_close_code;
    end.cause = CloseCause::server_close;
    end.reason = seen.server_reason;
  } else {
    end.code = close_code::abnormal;
    end.cause = CloseCause::abnormal;
    end.reason = "connection ended without a close frame";
  }
  return end;
}

ClosePayload parseClosePayload(const unsigned char* data, std::size_t length) {
  ClosePayload payload;
  if (data == nullptr || length < 2) return payload;
  payload.code = (static_cast<int>(data[0]) << 8) | data[1];
  payload.reason.assign(reinterpret_cast<const char*>(data + 2), length - 2);
  return payload;
}

}  // namespace wsprobe
