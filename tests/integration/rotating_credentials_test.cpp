// Credentials that rotate: a header, the origin and the URL's query read from
// files with ${file:...} at every connection attempt, without a reload.
#include <catch2/catch.hpp>
#include <cstdio>

#include "support/agent_under_test.h"
#include "support/child_process.h"
#include "support/scrape.h"
#include "testbed/misbehaving_endpoint.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;
using endpoints::EndpointBehaviour;
using endpoints::MisbehavingEndpoint;

namespace {
bool sawRequest(const MisbehavingEndpoint& server, const std::string& authorization, const std::string& origin,
                const std::string& path) {
  for (const auto& request : server.requests()) {
    if (request.header("authorization") == authorization && request.header("origin") == origin &&
        request.path == path) {
      return true;
    }
  }
  return false;
}
}  // namespace

TEST_CASE("credentials read from files follow the files at each attempt, a missing file fails at stage config",
          "[integration]") {
  MisbehavingEndpoint server(EndpointBehaviour{});
  TempDir dir;
  dir.write("token", "first-token\n");
  dir.write("origin", "https://one.example");
  dir.write("query", "k1\n");
  AgentUnderTest probe(targetBlock("rotating", server.url("/ws?key=${file:" + dir.file("query") + "}"),
                                   "origin = \"${file:" + dir.file("origin") + "}\"\n"
                                   "headers = { Authorization = \"Bearer ${file:" + dir.file("token") + "}\" }"));
  CHECK(server.waitUntil([&] { return sawRequest(server, "Bearer first-token", "https://one.example", "/ws?key=k1"); },
                         10s));

  // Rotated on disk: the next connection carries the new values.
  dir.write("token", "second-token\n");
  dir.write("origin", "https://two.example\n");
  dir.write("query", "k2");
  server.closeOpenConnections(1001);
  CHECK(server.waitUntil([&] { return sawRequest(server, "Bearer second-token", "https://two.example", "/ws?key=k2"); },
                         10s));

  // Gone: attempts fail at stage config, no crash, and nothing is sent.
  std::remove(dir.file("token").c_str());
  server.closeOpenConnections(1001);
  CHECK(probe.waitForMetric("wsprobe_connection_failures_total", {{"target", "rotating"}, {"stage", "config"}}, 2,
                            10s));
  const std::string text = probe.scrape();
  CHECK(text.find("second-token") == std::string::npos);
  CHECK(text.find("first-token") == std::string::npos);

  // Back: connections open again.
  const int upgrades = server.upgradesCompleted();
  dir.write("token", "third-token\n");
  CHECK(server.waitUntil([&] { return server.upgradesCompleted() > upgrades; }, 10s));
  CHECK(sawRequest(server, "Bearer third-token", "https://two.example", "/ws?key=k2"));
}
