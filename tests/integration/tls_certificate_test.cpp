// Certificates of wss:// targets: the expiry gauge and the TLS session info,
// against a server whose certificate the test makes (valid for 3 days).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <memory>

#include "support/agent_under_test.h"
#include "support/scrape.h"
#include "support/tls_endpoint.h"

using namespace wsprobe;
using namespace wsprobe::testing;
using namespace std::chrono_literals;

namespace {

// notAfter of the PEM certificate in `file`, unix seconds.
double notAfterOf(const std::string& file) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "r"), &std::fclose);
  REQUIRE(in);
  std::unique_ptr<X509, void (*)(X509*)> certificate(PEM_read_X509(in.get(), nullptr, nullptr, nullptr),
                                                     &X509_free);
  REQUIRE(certificate);
  std::tm broken_down{};
  REQUIRE(ASN1_TIME_to_tm(X509_get0_notAfter(certificate.get()), &broken_down) == 1);
  return static_cast<double>(::timegm(&broken_down));
}

}  // namespace

TEST_CASE("a wss:// target: certificate expiry and TLS version and cipher", "[integration]") {
  TlsEndpoint tls({}, /*validity_days=*/3);
  const double not_after = notAfterOf(tls.caFile());
  const double now = static_cast<double>(std::time(nullptr));
  REQUIRE(not_after > now + 2.9 * 86400);
  REQUIRE(not_after < now + 3.1 * 86400);

  AgentUnderTest probe(targetBlock("tls-cert", tls.server().url("/ws"),
                                   "tls = { ca_file = \"" + tls.caFile() + "\" }") +
                       targetBlock("plain-ws", "ws://127.0.0.1:1/ws"));
  REQUIRE(probe.waitForMetric("wsprobe_tls_info", {{"target", "tls-cert"}}, 1, 10s));
  CHECK(probe.metric("wsprobe_tls_certificate_expiry_timestamp_seconds", {{"target", "tls-cert"}}) ==
        not_after);
  // OpenSSL 3 on both ends negotiates TLS 1.3 with one of its AEAD suites.
  CHECK(probe.metric("wsprobe_tls_info", {{"target", "tls-cert"}, {"version", "TLSv1.3"}}) == 1.0);
  const std::string text = probe.scrape();
  CAPTURE(text);
  CHECK(text.find("cipher=\"TLS_AES_") != std::string::npos);
  // One series: reconnects to the same server keep the same version and cipher.
  CHECK(probe.metric("wsprobe_tls_info", {{"target", "tls-cert"}}) == 1.0);
  // A ws:// target has neither.
  CHECK_FALSE(probe.metric("wsprobe_tls_info", {{"target", "plain-ws"}}));
  CHECK_FALSE(probe.metric("wsprobe_tls_certificate_expiry_timestamp_seconds", {{"target", "plain-ws"}}));
}
