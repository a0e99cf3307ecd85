// The status page in a real browser: Debian's chromium, headless, loads /
// from a real Agent probing real endpoints on loopback, and the DOM it built
// lists every target and shows hostile free text (a static label, a server's
// close reason) as text, with nothing of it run.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/config.h"
#include "testbed/misbehaving_endpoint.h"
#include "support/agent_under_test.h"
#include "support/child_process.h"
#include "support/chromium.h"
#include "support/scrape.h"

namespace {

using namespace std::chrono_literals;
using wsprobe::testing::chromiumProgram;
using wsprobe::testing::closedPort;
using wsprobe::testing::headlessChromium;
using wsprobe::testing::occurrences;
using wsprobe::testing::TempDir;
using wsprobe::testing::waitFor;

// Each would change the page's title if a browser ran it.
const std::string kLabelScript = "<script>document.title=\"pwned-by-label\"</script>";
const std::string kReasonMarkup = "<img src=x onerror=\"document.title='pwned-by-reason'\">";

}  // namespace

TEST_CASE("the status page in headless Chromium lists every target and runs no injected markup",
          "[e2e][web][status_page]") {
  const std::string browser = chromiumProgram();
  INFO("Debian's chromium package is needed (scripts/setup.sh installs it)");
  REQUIRE_FALSE(browser.empty());

  wsprobe::endpoints::EndpointBehaviour healthy;
  wsprobe::endpoints::EndpointBehaviour closing;
  closing.close_after = 200ms;
  closing.close_codes = {4001};
  closing.close_reason = kReasonMarkup;
  wsprobe::endpoints::MisbehavingEndpoint healthy_endpoint(healthy);
  wsprobe::endpoints::MisbehavingEndpoint closing_endpoint(closing);

  const std::string config =
      "[defaults]\nping_interval = \"500ms\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"300ms\"\n"
      "[[target]]\nname = \"healthy\"\nurl = \"" + healthy_endpoint.url("/ws") + "\"\n"
      "labels = { note = \"<script>document.title=\\\"pwned-by-label\\\"</script>\" }\n"
      "[[target]]\nname = \"closes-4001\"\nurl = \"" + closing_endpoint.url("/ws") + "\"\n"
      "[[target]]\nname = \"nothing.listens:here\"\nurl = \"ws://127.0.0.1:" +
      std::to_string(closedPort()) + "/ws\"\n";
  wsprobe::Agent::Options options;
  options.load_config = [config] {
    return wsprobe::parseConfig(config, "status-page.toml", wsprobe::processEnvironment());
  };
  options.listen_address = "127.0.0.1:0";
  wsprobe::Agent agent(std::move(options));
  const auto error = agent.start();
  INFO(error.value_or(""));
  REQUIRE_FALSE(error);

  // Something to show: the healthy target up, a close with the hostile reason.
  REQUIRE(waitFor(
      [&] {
        bool up = false;
        for (const auto& view : agent.targetViews()) up |= view.status.name == "healthy" && view.status.up;
        bool closed = false;
        for (const auto& event : agent.events().recent(50)) {
          closed |= event.end && event.end->code == 4001 && event.end->reason == kReasonMarkup;
        }
        return up && closed;
      },
      10s));

  TempDir profile;
  const std::string url = "http://127.0.0.1:" + std::to_string(agent.port()) + "/";
  auto arguments = headlessChromium(browser, profile.path());
  arguments.insert(arguments.end(), {"--dump-dom", url});
  const auto result = wsprobe::testing::runCommand(arguments, 60s);
  const std::string& dom = result.output;
  INFO(dom);
  REQUIRE(result.exit_code == 0);
  REQUIRE(dom.find("<table id=\"targets\">") != std::string::npos);

  // Every configured target, by name.
  for (const std::string name : {"healthy", "closes-4001", "nothing.listens:here"}) {
    CHECK(dom.find("<td class=\"name\">" + name + "</td>") != std::string::npos);
  }
  CHECK(occurrences(dom, "<tr class=\"target\">") == 3);
  CHECK(dom.find("4001 server_close") != std::string::npos);

  // Nothing ran: the title is the page's own, and the browser built no
  // script or img element out of the free text...
  CHECK(dom.find("<title>wsprobe</title>") != std::string::npos);
  CHECK(dom.find("pwned-by-label</title>") == std::string::npos);
  CHECK(dom.find("pwned-by-reason</title>") == std::string::npos);
  CHECK(occurrences(dom, "<script") == 0);
  CHECK(occurrences(dom, "<img") == 0);
  // ...which it shows as text instead (the DOM serializer escapes < and >).
  CHECK(dom.find("note=&lt;script&gt;document.title=\"pwned-by-label\"&lt;/script&gt;") != std::string::npos);
  CHECK(dom.find("&lt;img src=x onerror=\"document.title='pwned-by-reason'\"&gt;") != std::string::npos);
}
