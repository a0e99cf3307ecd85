// Debian's mosquitto broker, started by a test on 127.0.0.1: an MQTT listener
// (for mosquitto_pub) and a WebSocket listener (for wsprobe), both on ports
// that were free; anonymous, or open to one user and password only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "support/child_process.h"
#include "support/server_process.h"

namespace wsprobe::testing {

class MosquittoBroker {
 public:
  struct Credentials {
    std::string username;
    std::string password;
  };
  // Starts the broker and waits (REQUIRE) until its WebSocket listener accepts.
  explicit MosquittoBroker(std::optional<Credentials> only = std::nullopt);
  ~MosquittoBroker();

  int websocketPort() const { return websocket_port_; }
  // ws://127.0.0.1:PORT<path>
  std::string url(const std::string& path = "/mqtt") const;
  std::string output() const { return server_ ? server_->output() : ""; }

  // A mosquitto_pub publishing `message` on `topic` every `interval` until it
  // is destroyed or stop()ped: the publisher that stops.
  class Publisher {
   public:
    Publisher(const MosquittoBroker& broker, const std::string& topic, std::chrono::milliseconds interval);
    ~Publisher();
    void stop();

   private:
    TempDir directory_;
    std::unique_ptr<ChildProcess> child_;
  };

 private:
  TempDir directory_;
  std::optional<Credentials> credentials_;
  int mqtt_port_ = 0;
  int websocket_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace wsprobe::testing
