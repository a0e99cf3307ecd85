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
    case CloseCause::stale: return "stale";
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
    case FailureStage::session: return "session";
    case FailureStage::config: return "config";
  }
  return "unknown";
}

std::string_view toString(HandshakePhase phase) {
  switch (phase) {
    case HandshakePhase::dns: return "dns";
    case HandshakePhase::tcp: return "tcp";
    case HandshakePhase::tls: return "tls";
    case HandshakePhase::upgrade: return "upgrade";
  }
  return "unknown";
}

std::string ConnectionFailure::status() const {
  if (stage == FailureStage::http && http_status != 0) return std::to_string(http_status);
  if (stage == FailureStage::session) return session_status;
  return {};
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
  } else if (seen.stale_close_code) {
    end.code = *seen.stale_close_code;
    end.cause = CloseCause::stale;
    end.reason = "no server data message within message_timeout";
  } else if (seen.pong_overdue) {
    end.code = close_code::abnormal;
    end.cause = CloseCause::pong_timeout;
    end.reason = "no heartbeat answer within pong_timeout";
  } else if (seen.protocol_close_code) {
    end.code = *seen.protocol_close_code;
    end.cause = CloseCause::protocol_error;
    end.reason = "server broke the protocol";
  } else if (seen.session_end_code) {
    // The protocol broke (1002) or the server ended the session in-band.
    end.code = *seen.session_end_code;
    end.cause = end.code == close_code::protocol_error ? CloseCause::protocol_error
                                                        : CloseCause::server_close;
    end.reason = seen.session_end_detail;
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

std::optional<int> libraryCloseViolation(bool peer_closed, std::string_view library_close,
                                         bool peer_still_connected) {
  if (peer_closed) return std::nullopt;
  if (library_close.size() >= 2) {
    const int code = (static_cast<unsigned char>(library_close[0]) << 8) |
                     static_cast<unsigned char>(library_close[1]);
    if (code == close_code::protocol_error || code == close_code::invalid_payload ||
        code == close_code::message_too_big) {
      return code;
    }
    return std::nullopt;
  }
  if (peer_still_connected) return close_code::protocol_error;
  return std::nullopt;
}

bool isValidCloseCode(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

ClosePayload parseClosePayload(const unsigned char* data, std::size_t length) {
  ClosePayload payload;
  if (data == nullptr || length < 2) return payload;
  payload.code = (static_cast<int>(data[0]) << 8) | data[1];
  payload.reason.assign(reinterpret_cast<const char*>(data + 2), length - 2);
  return payload;
}

}  // namespace wsprobe
