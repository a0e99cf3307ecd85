// The status page, the JSON API and basic auth, without a network: what a
// person and a scraper are shown, escaped, and who gets in.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "agent/basic_auth.h"
#include "agent/web_api.h"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using wsprobe::ConnectionEnd;
using wsprobe::ConnectionEvent;
using wsprobe::ConnectionMode;
using wsprobe::ConnectionStatus;
using wsprobe::TargetView;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
const std::string kScriptLabel = "<script>document.title='pwned'</script>";
const std::string kHostileReason = "<img src=x onerror=\"document.title='pwned'\">";

TargetView chatTarget() {
  TargetView view;
  view.status.name = "chat";
  view.status.up = true;
  ConnectionStatus heartbeat;
  heartbeat.mode = ConnectionMode::heartbeat;
  heartbeat.state = "open";
  heartbeat.age = 95s;
  heartbeat.last_rtt = 1500us;
  ConnectionStatus idle;
  idle.mode = ConnectionMode::idle;
  idle.state = "waiting";
  idle.next_retry_in = 2s;
  view.status.connections = {heartbeat, idle};
  view.labels = {{"team", kScriptLabel}};
  view.idle_timeout_seconds = 60.2;
  ConnectionEnd end;
  end.mode = ConnectionMode::idle;
  end.code = 1006;
  end.cause = wsprobe::CloseCause::abnormal;
  end.reason = kHostileReason;
  end.lifetime = 60200ms;
  view.last_end = end;
  view.last_end_at = kNow - 30s;
  return view;
}

ConnectionEvent closeEvent(std::string reason) {
  ConnectionEvent event;
  event.kind = ConnectionEvent::Kind::close;
  event.at = kNow - 30s;
  event.target = "chat";
  event.mode = ConnectionMode::idle;
  ConnectionEnd end;
  end.code = 4001;
  end.cause = wsprobe::CloseCause::server_close;
  end.reason = std::move(reason);
  end.lifetime = 12s;
  event.end = end;
  return event;
}

}  // namespace

TEST_CASE("status page shows every target's facts and escapes free text", "[unit][web]") {
  TargetView other;
  other.status.name = "feed.eu-1";
  const std::string page =
      wsprobe::statusPage({chatTarget(), other}, {closeEvent(kHostileReason)}, "0.1.0", kNow);

  CHECK(page.find("<td class=\"name\">chat</td>") != std::string::npos);
  CHECK(page.find("<td class=\"name\">feed.eu-1</td>") != std::string::npos);
  CHECK(page.find("1/1 heartbeat") != std::string::npos);  // open connections
  CHECK(page.find("0/1 idle") != std::string::npos);
  CHECK(page.find("1.50 ms") != std::string::npos);        // last RTT
  CHECK(page.find("60.2 s") != std::string::npos);         // idle-timeout estimate
  CHECK(page.find("1006 abnormal") != std::string::npos);  // last close: code and cause
  CHECK(page.find("30.0 s ago") != std::string::npos);     // ... and when
  CHECK(page.find("4001 server_close") != std::string::npos);  // the event
  CHECK(page.find("not probed") != std::string::npos);     // feed.eu-1 has no idle probe

  // Free text arrives only escaped: no tag a browser would parse.
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;") !=
        std::string::npos);
}

TEST_CASE("htmlEscape escapes the five characters that matter", "[unit][web]") {
  CHECK(wsprobe::htmlEscape("a<b>&\"'c") == "a&lt;b&gt;&amp;&quot;&#39;c");
  CHECK(wsprobe::htmlEscape("plain text") == "plain text");
}

TEST_CASE("/api/v1/targets carries labels, last close with time and the idle estimate",
          "[unit][web]") {
  const json body = json::parse(wsprobe::targetsJson({chatTarget()}));
  REQUIRE(body["status"] == "success");
  const json& target = body["data"].at(0);
  CHECK(target["target"] == "chat");
  CHECK(target["up"] == true);
  CHECK(target["labels"]["team"] == kScriptLabel);  // JSON keeps text as text
  CHECK(target["open_connections"]["heartbeat"] == 1);
  CHECK(target["open_connections"]["idle"] == 0);
  CHECK(target["desired_connections"]["idle"] == 1);
  CHECK(target["idle_timeout_state"] == "estimated");
  CHECK(target["idle_timeout_seconds"].get<double>() == Approx(60.2));
  CHECK(target["last_close"]["code"] == 1006);
  CHECK(target["last_close"]["cause"] == "abnormal");
  CHECK(target["last_close"]["reason"] == kHostileReason);
  CHECK(target["last_close"]["mode"] == "idle");
  CHECK(target["last_close"]["time"] == "2027-01-15T07:59:30Z");
  CHECK(target["connections"].at(0)["last_rtt_seconds"].get<double>() == Approx(0.0015));
  CHECK(target["connections"].at(1)["next_retry_seconds"].get<double>() == Approx(2.0));
}

TEST_CASE("idle-timeout state: unknown while measuring, none when the probe outlived its cap",
          "[unit][web]") {
  TargetView view = chatTarget();
  view.idle_timeout_seconds.reset();
  CHECK(json::parse(wsprobe::targetsJson({view}))["data"][0]["idle_timeout_state"] == "unknown");
  view.idle_timeout_seconds = std::numeric_limits<double>::infinity();
  const json target = json::parse(wsprobe::targetsJson({view}))["data"][0];
  CHECK(target["idle_timeout_state"] == "none");
  CHECK(target["idle_timeout_seconds"].is_null());
  CHECK(wsprobe::statusPage({view}, {}, "0.1.0", kNow).find("none found") != std::string::npos);
}

TEST_CASE("/api/v1/events survives a close reason that is not UTF-8", "[unit][web]") {
  const std::string body = wsprobe::eventsJson({closeEvent(std::string("bad \xff\xfe bytes"))});
  const json parsed = json::parse(body);
  const json& event = parsed["data"].at(0);
  CHECK(event["kind"] == "close");
  CHECK(event["code"] == 4001);
  CHECK(event["cause"] == "server_close");
  CHECK(event["lifetime_seconds"].get<double>() == Approx(12.0));
  CHECK(event["reason"].get<std::string>().find("bad ") == 0);
}

TEST_CASE("parseBasicAuthorization reads Basic credentials and nothing else", "[unit][auth]") {
  // "prometheus:s3cr:et" (a password may contain ':')
  const auto parsed = wsprobe::parseBasicAuthorization("Basic cHJvbWV0aGV1czpzM2NyOmV0");
  REQUIRE(parsed);
  CHECK(parsed->first == "prometheus");
  CHECK(parsed->second == "s3cr:et");
  CHECK(wsprobe::parseBasicAuthorization("basic cHJvbWV0aGV1czpzM2NyOmV0"));  // scheme is case-insensitive
  CHECK_FALSE(wsprobe::parseBasicAuthorization(""));
  CHECK_FALSE(wsprobe::parseBasicAuthorization("Bearer cHJvbWV0aGV1czpzM2NyOmV0"));
  CHECK_FALSE(wsprobe::parseBasicAuthorization("Basic"));
  CHECK_FALSE(wsprobe::parseBasicAuthorization("Basic !!!!"));
  CHECK_FALSE(wsprobe::parseBasicAuthorization("Basic bm9jb2xvbg=="));  // "nocolon"
}

TEST_CASE("BasicAuthenticator accepts the right password and nothing else", "[unit][auth]") {
  const auto hash = wsprobe::bcryptHash("correct horse", 4);
  REQUIRE(hash);
  CHECK(hash->rfind("$2b$04$", 0) == 0);
  wsprobe::BasicAuthenticator auth({{"prometheus", *hash}});
  CHECK_FALSE(auth.validate());
  CHECK(auth.required());

  const auto header = [](const std::string& user, const std::string& password) {
    // base64 via the parser's inverse is not public; these are precomputed.
    if (user == "prometheus" && password == "correct horse") return std::string("Basic cHJvbWV0aGV1czpjb3JyZWN0IGhvcnNl");
    if (user == "prometheus" && password == "wrong") return std::string("Basic cHJvbWV0aGV1czp3cm9uZw==");
    return std::string("Basic bWFsbG9yeTpjb3JyZWN0IGhvcnNl");  // mallory:correct horse
  };
  CHECK(auth.allows(header("prometheus", "correct horse")));
  CHECK(auth.allows(header("prometheus", "correct horse")));  // again, from the cache
  CHECK_FALSE(auth.allows(header("prometheus", "wrong")));
  CHECK_FALSE(auth.allows(header("mallory", "correct horse")));  // unknown user, right password
  CHECK_FALSE(auth.allows(""));
  CHECK_FALSE(auth.allows("Basic"));
}

TEST_CASE("BasicAuthenticator without users lets everything through", "[unit][auth]") {
  wsprobe::BasicAuthenticator auth;
  CHECK_FALSE(auth.required());
  CHECK(auth.allows(""));
}

TEST_CASE("a value that is not a bcrypt hash is refused without being repeated", "[unit][auth]") {
  const std::string sha512 = "$6$saltsalt$0123456789abcdef";
  wsprobe::BasicAuthenticator auth({{"prometheus", sha512}});
  const auto error = auth.validate();
  REQUIRE(error);
  CHECK(error->find("prometheus") != std::string::npos);
  CHECK(error->find("bcrypt") != std::string::npos);
  CHECK(error->find(sha512) == std::string::npos);
  CHECK(error->find("saltsalt") == std::string::npos);

  wsprobe::BasicAuthenticator plain(std::map<std::string, std::string>{{"prometheus", "hunter2"}});
  const auto plain_error = plain.validate();
  REQUIRE(plain_error);
  CHECK(plain_error->find("hunter2") == std::string::npos);
}
