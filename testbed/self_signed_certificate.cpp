#include "testbed/self_signed_certificate.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <stdexcept>

namespace wsprobe::endpoints {

namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* pointer) const {
    Free(pointer);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

[[noreturn]] void fail(const std::string& step) {
  std::string detail;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    detail = std::string(": ") + text;
  }
  ERR_clear_error();
  throw std::runtime_error("self-signed certificate: " + step + detail);
}

void addExtension(X509* certificate, int nid, const char* value, X509* issuer = nullptr) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : certificate, certificate, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    fail(std::string("extension ") + OBJ_nid2sn(nid));
  }
}

// Writes `path` with `mode` permissions through `write`, which returns 1 on
// success like the PEM_write functions. open() and fchmod() rather than umask,
// which is process-wide.
template <typename Write>
void writeFile(const std::string& path, mode_t mode, Write write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("self-signed certificate: cannot create " + path);
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    throw std::runtime_error("self-signed certificate: cannot open " + path);
  }
  const bool written = ::fchmod(fd, mode) == 0 && write(file) == 1;
  if (std::fclose(file) != 0 || !written) fail("writing " + path);
}

void setSerial(X509* certificate) {
  BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate))) {
    fail("serial number");
  }
}

void setSubject(X509* certificate, const char* common_name) {
  X509_NAME* name = X509_get_subject_name(certificate);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("wsprobe test"), -1, -1, 0) != 1) {
    fail("subject name");
  }
}

void writeCertificate(const std::string& path, X509* certificate) {
  writeFile(path, 0644, [&](std::FILE* file) { return PEM_write_X509(file, certificate); });
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  writeFile(path, 0600, [&](std::FILE* file) {
    return PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

}  // namespace

IssuedCertificate writeIssuedCertificate(const std::string& directory, const std::string& name,
                                         const CertificateRequest& request) {
  PkeyPtr ca_key(EVP_EC_gen("P-256"));
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!ca_key || !key) fail("EC P-256 key generation");

  X509Ptr ca(X509_new());
  if (!ca) fail("X509_new");
  X509_set_version(ca.get(), X509_VERSION_3);
  setSerial(ca.get());
  if (!X509_gmtime_adj(X509_getm_notBefore(ca.get()), -2L * 24 * 60 * 60) ||
      !X509_gmtime_adj(X509_getm_notAfter(ca.get()), 7L * 24 * 60 * 60)) {
    fail("CA validity");
  }
  setSubject(ca.get(), ("wsprobe test CA " + name).c_str());
  if (X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) != 1 ||
      X509_set_pubkey(ca.get(), ca_key.get()) != 1) {
    fail("CA names");
  }
  addExtension(ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExtension(ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing the CA");

  X509Ptr leaf(X509_new());
  if (!leaf) fail("X509_new");
  X509_set_version(leaf.get(), X509_VERSION_3);
  setSerial(leaf.get());
  if (!X509_gmtime_adj(X509_getm_notBefore(leaf.get()), request.valid_from_seconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(leaf.get()), request.valid_until_seconds)) {
    fail("validity");
  }
  setSubject(leaf.get(), ("wsprobe test " + name).c_str());
  if (X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())) != 1 ||
      X509_set_pubkey(leaf.get(), key.get()) != 1) {
    fail("names");
  }
  addExtension(leaf.get(), NID_basic_constraints, "critical,CA:FALSE", ca.get());
  addExtension(leaf.get(), NID_key_usage, "critical,digitalSignature", ca.get());
  addExtension(leaf.get(), NID_ext_key_usage, "serverAuth", ca.get());
  addExtension(leaf.get(), NID_subject_key_identifier, "hash", ca.get());
  addExtension(leaf.get(), NID_authority_key_identifier, "keyid:always", ca.get());
  addExtension(leaf.get(), NID_subject_alt_name, request.subject_alt_names.c_str(), ca.get());
  if (X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing");

  const std::string prefix = directory + "/" + name;
  IssuedCertificate files{prefix + "-ca.pem", prefix + "-cert.pem", prefix + "-key.pem"};
  writeCertificate(files.ca_file, ca.get());
  writeCertificate(files.cert_file, leaf.get());
  writeKey(files.key_file, key.get());
  return files;
}

CertificateFiles writeSelfSignedCertificate(const std::string& directory, int validity_days) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation");

  X509Ptr certificate(X509_new());
  if (!certificate) fail("X509_new");
  X509_set_version(certificate.get(), X509_VERSION_3);

  // A random serial, so a client that caches certificates by issuer and
  // serial never confuses two runs.
  BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get()))) {
    fail("serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -60) ||
      !X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 24L * 60 * 60 * validity_days)) {
    fail("validity");
  }
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const auto* common_name = reinterpret_cast<const unsigned char*>("127.0.0.1");
  const auto* organization = reinterpret_cast<const unsigned char*>("wsprobe test");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, common_name, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, organization, -1, -1, 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1) {
    fail("subject name");
  }
  if (X509_set_pubkey(certificate.get(), key.get()) != 1) fail("public key");

  // What `openssl req -x509` writes, plus the names a loopback client checks.
  addExtension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExtension(certificate.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  addExtension(certificate.get(), NID_ext_key_usage, "serverAuth");
  addExtension(certificate.get(), NID_subject_key_identifier, "hash");
  addExtension(certificate.get(), NID_authority_key_identifier, "keyid:always");
  addExtension(certificate.get(), NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");

  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) fail("signing");

  CertificateFiles files{directory + "/wsprobe-test-cert.pem", directory + "/wsprobe-test-key.pem"};
  writeFile(files.key_file, 0600, [&](std::FILE* file) {
    return PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  writeFile(files.cert_file, 0644,
            [&](std::FILE* file) { return PEM_write_X509(file, certificate.get()); });
  return files;
}

}  // namespace wsprobe::endpoints
