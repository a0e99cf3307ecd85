#include "support/mosquitto_broker.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <sstream>

#include "support/agent_under_test.h"

namespace wsprobe::testing {

namespace {

// Debian installs the broker in /usr/sbin, which a user's PATH may lack.
std::string brokerProgram() {
  return ::access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "mosquitto";
}

std::string seconds(std::chrono::milliseconds interval) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(interval.count()) / 1000.0);
  return text;
}

}  // namespace

MosquittoBroker::MosquittoBroker(std::optional<Credentials> only) : credentials_(std::move(only)) {
  mqtt_port_ = closedPort();
  websocket_port_ = closedPort();
  std::ostringstream config;
  // As root the broker would switch to the user mosquitto, which cannot read
  // this directory; "root" keeps the user it runs as (a no-op for others).
  config << "user root\n"
         << "persistence false\n"
         << "log_dest stdout\n"
         << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
         << "connection_messages true\n";
  if (credentials_) {
    const auto password_file = directory_.file("passwords");
    const auto created = runCommand(
        {"mosquitto_passwd", "-b", "-c", password_file, credentials_->username, credentials_->password},
        std::chrono::seconds(20), true);
    INFO(created.output);
    REQUIRE(created.exit_code == 0);
    config << "allow_anonymous false\npassword_file " << password_file << "\n";
  } else {
    config << "allow_anonymous true\n";
  }
  config << "listener " << mqtt_port_ << " 127.0.0.1\n"
         << "listener " << websocket_port_ << " 127.0.0.1\nprotocol websockets\n";
  directory_.write("mosquitto.conf", config.str());
  server_ = ServerProcess::startOnPort({brokerProgram(), "-c", directory_.file("mosquitto.conf")},
                                       websocket_port_, std::chrono::seconds(20));
}

MosquittoBroker::~MosquittoBroker() = default;

std::string MosquittoBroker::url(const std::string& path) const {
  return "ws://127.0.0.1:" + std::to_string(websocket_port_) + path;
}

MosquittoBroker::Publisher::Publisher(const MosquittoBroker& broker, const std::string& topic,
                                      std::chrono::milliseconds interval) {
  std::vector<std::string> argv = {"mosquitto_pub",
                                   "-h",
                                   "127.0.0.1",
                                   "-p",
                                   std::to_string(broker.mqtt_port_),
                                   "-t",
                                   topic,
                                   "-m",
                                   "tick",
                                   "--repeat",
                                   "1000000",
                                   "--repeat-delay",
                                   seconds(interval)};
  if (broker.credentials_) {
    argv.insert(argv.end(), {"-u", broker.credentials_->username, "-P", broker.credentials_->password});
  }
  child_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, directory_.file("output.log"));
}

MosquittoBroker::Publisher::~Publisher() { stop(); }

void MosquittoBroker::Publisher::stop() {
  if (!child_) return;
  child_->signal(SIGTERM);
  if (!child_->waitExit(std::chrono::seconds(2))) child_->signal(SIGKILL);
  child_.reset();
}

}  // namespace wsprobe::testing
