// A SessionSink that records what a codec did, for transcript tests of the
// application protocols.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probes/protocols/session_protocol.h"

namespace wsprobe::testing {

struct RecordingSessionSink final : SessionSink {
  struct Sent {
    MessageKind kind;
    std::string payload;
  };
  std::vector<Sent> sent;
  bool ready = false;
  int ready_calls = 0;
  std::optional<std::pair<std::string, std::string>> refused;  // status, detail
  std::vector<Duration> app_rtts;
  int data_messages = 0;
  std::optional<std::pair<int, std::string>> ended;  // code, detail

  void send(MessageKind kind, std::string_view payload) override {
    sent.push_back({kind, std::string(payload)});
  }
  void sessionReady() override {
    ready = true;
    ++ready_calls;
  }
  void sessionRefused(std::string_view status, std::string_view detail) override {
    refused = {std::string(status), std::string(detail)};
  }
  void appRoundTrip(Duration rtt) override { app_rtts.push_back(rtt); }
  void dataMessage() override { ++data_messages; }
  void sessionEnded(int code, std::string_view detail) override {
    ended = {code, std::string(detail)};
  }

  // The text of every message sent since the last call, and forget them.
  std::vector<std::string> takeSent() {
    std::vector<std::string> out;
    for (auto& message : sent) out.push_back(std::move(message.payload));
    sent.clear();
    return out;
  }
};

}  // namespace wsprobe::testing
