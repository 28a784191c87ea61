// interop_test: axis's strict verifier against the public XML-DSig vectors
// in ../shared/interop (cases.tsv: id|cwd|expected|features|keys|command).
//
// Every XML-DSig case (ids a, m, c, p, x, h, i, e) is run through
// signer::VerifyDocument with a TrustStore made of the case's
// --trusted-pem/--trusted-der (roots) and --untrusted-pem/--untrusted-der
// (intermediates) files, at its --verification-gmt-time. The vectors were
// written to exercise XML-DSig's breadth; axis's strict profile (verify.h)
// refuses most of that breadth on purpose. kCases below says, per case, what
// axis must answer and why, so the table can be audited line by line:
//
//  kValid    the profile allows every feature; Valid() must equal expected.
//  kPolicy   a feature the profile forbids (SHA-1, DSA, HMAC, enveloping
//            ds:Object references, external URIs, XPath/XSLT/XPointer,
//            Manifest, keys without an X509Certificate, ...) or a chain the
//            profile does not trust; Valid() must be false and every listed
//            reason substring must occur. When the vector is expected valid,
//            no reason may be a digest or SignatureValue failure.
//  kBroken   expected invalid and refused for the vector's own defect
//            (crypto failure, chain, revocation); never Valid().
//
// Trust: VerifyDocument needs a chain to a root of the store. Cases run by
// xmlsec1 with --pubkey-cert-*, --hmackey, --insecure or KeyValue keys have
// no trust anchor, so "not trusted" / "no signing certificate" is the
// correct strict outcome for them even where xmlsec says valid.
//
// OCSP (o*) and TSA (t*) cases are a later issue; k* are checked by
// c14n_test.cc.

#include <openssl/err.h>

#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/certs.h"
#include "signer/verify.h"
#include "tests/testing/paths.h"

namespace axis::signer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

enum Outcome { kValid, kPolicy, kBroken };

// Crypto says what the test expects of xmlsec's digest and SignatureValue
// check; it only runs when the signature's structure passed the profile.
enum Crypto { kCryptoAny, kCryptoOk, kCryptoFails };

struct Case {
  std::string id;
  Outcome outcome;
  std::vector<std::string> reasons;  // substrings of the report's reasons
  Crypto crypto;
  std::string why;
  std::vector<std::string> absent = {};  // substrings no reason may contain
};

// PrintTo names a case by its id in gtest's messages.
void PrintTo(const Case& c, std::ostream* os) { *os << c.id; }

// Reason fragments, named so the table reads as prose.
const char kXPath1[] = "REC-xpath-19991116 is not allowed";          // XPath 1.0 transform
const char kSha1Rsa[] = "xmldsig#rsa-sha1 is not allowed";
const char kDsa[] = "xmldsig#dsa-sha1 is not allowed";
const char kHmacSha1[] = "xmldsig#hmac-sha1 is not allowed";
const char kToObject[] = "points to Object";                      // enveloping reference
const char kNoCert[] = "no signing certificate";                  // KeyValue/KeyName/IssuerSerial only
const char kExternal[] = "is external, an XPointer";
const char kNotTrusted[] = "is not trusted";
const char kDoctype[] = "DOCTYPE";
// xmlsec's test CAs have non-critical basicConstraints, which OpenSSL's
// strict RFC 5280 checks refuse.
const char kCaNotCritical[] = "Basic Constraints of CA cert not marked critical";

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      // --- xmlsec aleksey-xmldsig-01
      {"a01", kPolicy, {kXPath1, kNoCert}, kCryptoAny,
       "XPath 1.0 transform; signer named only by X509SubjectName (cert given out of band)"},
      {"a02", kPolicy, {kXPath1, kNoCert}, kCryptoAny,
       "XPath 1.0 transform; signer named only by X509IssuerSerial"},
      {"a03", kPolicy, {kSha1Rsa, kExternal, kNoCert}, kCryptoAny,
       "RSA-SHA1; detached http:// reference; KeyName key (--pubkey-cert-pem: no anchor)"},
      {"a04", kPolicy, {kToObject, "unsigned content", kCaNotCritical}, kCryptoAny,
       "enveloping: the only reference covers a ds:Object, not a document; KeyInfo lists the "
       "chain root first, the leaf (not the root) must be taken as signer"},
      {"a05", kPolicy, {kToObject, kNoCert}, kCryptoAny,
       "enveloping; key from --pubkey-cert-pem, no certificate in KeyInfo, no anchor"},
      {"a06", kPolicy, {kToObject, kCaNotCritical}, kCryptoAny,
       "enveloping ECDSA (reference to a ds:Object); leaf picked from a root-first KeyInfo"},
      {"a07", kPolicy, {kNotTrusted, "CA cert does not include key usage extension"}, kCryptoOk,
       "allowed structure (enveloped, ECDSA P-521/SHA-512) and the crypto verifies, but the "
       "test CA has no keyUsage: refused by strict RFC 5280 chain checks"},
      {"a08", kPolicy, {"hmac-sha256 is not allowed", kToObject}, kCryptoAny,
       "HMAC (a shared secret proves nothing about a signer); enveloping"},
      {"a09", kPolicy, {kSha1Rsa, kToObject}, kCryptoAny, "RSA-SHA1; enveloping"},
      {"a10", kPolicy, {kSha1Rsa, kToObject}, kCryptoAny,
       "RSA-SHA1; enveloping (the vector's point, an expired cert, is not reached)"},
      {"a11", kPolicy, {kSha1Rsa, "filter must be \"subtract\""}, kCryptoAny,
       "RSA-SHA1; XPath Filter 2.0 other than axis's subtract //ds:Signature"},
      {"a12", kPolicy, {kDoctype}, kCryptoAny,
       "has a DOCTYPE (refused before any signature is read); also XPointer and HMAC"},
      {"a13", kPolicy, {kToObject, kNotTrusted}, kCryptoAny,
       "enveloping; no trust anchor supplied (the vector's point)"},
      {"a14", kPolicy, {kToObject, kNotTrusted}, kCryptoAny,
       "--insecure (crypto only): enveloping; no trust anchor, so not trusted"},
      // --- merlin-xmldsig-twenty-three (W3C interop, Baltimore)
      {"m01", kPolicy, {kDsa, kNoCert}, kCryptoAny, "DSA-SHA1; DSAKeyValue only, no certificate"},
      {"m02", kPolicy, {kSha1Rsa, kToObject, kNoCert}, kCryptoAny,
       "RSA-SHA1; enveloping; RSAKeyValue only"},
      {"m03", kPolicy, {kDsa, kExternal, kNoCert}, kCryptoAny,
       "DSA-SHA1; detached http:// reference; KeyName key"},
      {"m04", kPolicy, {kDsa, kExternal, "DSA keys are refused"}, kCryptoAny,
       "DSA-SHA1; detached http:// reference"},
      {"m05", kPolicy, {kDsa, kExternal, kNoCert}, kCryptoAny,
       "DSA-SHA1; external reference; X509IssuerSerial only"},
      {"m06", kPolicy, {kDsa, kExternal, kNoCert}, kCryptoAny,
       "DSA-SHA1; external reference; X509SKI only"},
      {"m07", kPolicy, {kDsa, kExternal, kNoCert}, kCryptoAny,
       "DSA-SHA1; external reference; certificate only via RetrievalMethod (never fetched)"},
      {"m08", kPolicy, {kDoctype}, kCryptoAny,
       "has a DOCTYPE; also XSLT, XPath, Manifest, DSA"},
      {"m09", kPolicy, {kDsa, kExternal}, kCryptoAny,
       "DSA-SHA1; external reference (the vector's X509CRL in KeyInfo is not reached; axis "
       "takes CRLs from the trust store only)"},
      // --- canonicalization interop signatures
      {"c01", kPolicy, {kDsa, kExternal}, kCryptoAny,
       "DSA-SHA1; #xpointer(id(...)) references; DSAKeyValue"},
      {"c02", kPolicy, {kDsa, kXPath1}, kCryptoAny,
       "DSA-SHA1; 27 references selecting node-sets with XPath 1.0 (bytes checked in c14n_test)"},
      {"c03", kPolicy, {kDsa, "XPath Filter 2.0 transform must hold exactly one XPath element"},
       kCryptoAny, "DSA-SHA1; XPath Filter 2.0 intersect/union chains"},
      // --- phaos-xmldsig-three
      {"p01", kPolicy, {kSha1Rsa, kExternal}, kCryptoAny, "RSA-SHA1; detached http:// reference"},
      {"p02", kPolicy, {kSha1Rsa, "RSA key of 1024 bits"}, kCryptoAny,
       "RSA-SHA1 with a 1024-bit key (the structure is otherwise allowed)"},
      {"p03", kPolicy, {kSha1Rsa, "points to Manifest", kNoCert}, kCryptoAny,
       "RSA-SHA1; reference to a ds:Manifest (whose references use XSLT and relative URIs)"},
      {"p04", kPolicy, {kSha1Rsa, "points to Manifest"}, kCryptoAny, "RSA-SHA1; ds:Manifest"},
      {"p05", kPolicy, {kHmacSha1, kExternal}, kCryptoAny, "HMAC-SHA1; detached http:// reference"},
      {"p06", kPolicy, {kSha1Rsa, "xmldsig#sha1 is not allowed"}, kCryptoAny,
       "RSA-SHA1 (the wrong DigestValue is never computed)"},
      {"p07", kPolicy, {kSha1Rsa, "md5 is not allowed"}, kCryptoAny,
       "RSA-SHA1; the added reference uses MD5"},
      {"p08", kPolicy, {kSha1Rsa, kNoCert}, kCryptoAny,
       "RSA-SHA1; certificate only via RetrievalMethod"},
      {"p09", kPolicy, {kSha1Rsa, "points to Manifest"}, kCryptoAny, "RSA-SHA1; ds:Manifest"},
      // --- xmldsig2ed-tests
      {"x01", kPolicy, {kHmacSha1, kExternal}, kCryptoAny,
       "HMAC-SHA1; relative-URI reference to another file"},
      // --- xmlsec head: chains
      {"h01", kPolicy, {kXPath1, kCaNotCritical}, kCryptoAny,
       "XPath 1.0 transform; xmlsec's test CA has non-critical basicConstraints (RFC 5280 "
       "strict checks)"},
      {"h02", kPolicy, {kXPath1, "unable to get local issuer certificate"}, kCryptoAny,
       "XPath 1.0 transform; intermediate missing (the vector's point)"},
      {"h03", kPolicy, {kXPath1, "unable to get local issuer certificate"}, kCryptoAny,
       "XPath 1.0 transform; unrelated trust anchor (the vector's point)"},
      {"h04", kPolicy, {kXPath1}, kCryptoAny,
       "XPath 1.0 transform; its chain (self-signed signer trusted directly) is accepted",
       {kNotTrusted}},
      {"h05", kPolicy, {kXPath1, kNotTrusted}, kCryptoAny,
       "XPath 1.0 transform; anchor with the same DN but another key is not matched"},
      // --- XML-DSig 1.1 interop (Oracle)
      {"i01", kPolicy, {kToObject, kNoCert}, kCryptoAny,
       "enveloping; ECKeyValue only (--pubkey-cert-der: no anchor)"},
      {"i02", kPolicy, {kToObject, kNoCert}, kCryptoAny, "enveloping; ECKeyValue only"},
      {"i03", kPolicy, {kToObject, kNoCert}, kCryptoAny, "enveloping; ECKeyValue only"},
      {"i04", kPolicy, {kToObject, kNoCert}, kCryptoAny, "enveloping; RFC 4050 ECDSAKeyValue"},
      {"i05", kPolicy, {kHmacSha1, kToObject}, kCryptoAny,
       "HMAC-SHA1 (truncated to 40 bits, the vector's point); enveloping"},
      {"i06", kPolicy, {kToObject, kNoCert}, kCryptoAny, "enveloping; RSAKeyValue only"},
      // --- DSS XAdES
      {"e01", kPolicy, {"base64 is not allowed", kToObject}, kCryptoAny,
       "enveloping base64 ds:Object content"},
      {"e02", kPolicy, {kXPath1}, kCryptoAny,
       "enveloped via an XPath 1.0 transform (not the enveloped-signature transform); the "
       "qualified chain is trusted at signing time",
       {kNotTrusted}},
      {"e03", kPolicy, {"\"/descendant::ds:Signature\" is not the allowed", kNotTrusted},
       kCryptoAny,
       "XPath Filter 2.0 spelled /descendant::ds:Signature (only //ds:Signature is allowed); "
       "--insecure: no anchor"},
      {"e04", kPolicy, {"base64 is not allowed", kToObject, kNotTrusted}, kCryptoAny,
       "enveloping base64 ds:Object; --insecure: no anchor"},
      {"e05", kPolicy, {"base64 is not allowed", "SigningCertificateV2 is missing or unreadable"},
       kCryptoAny, "enveloping base64 ds:Object; SigningCertificateV2 digest is not a digest"},
      {"e06", kPolicy, {"base64 is not allowed", kNotTrusted}, kCryptoAny,
       "enveloping base64 ds:Object (the tampered DigestValue is never reached)"},
      {"e07", kBroken, {"is not covered by the signature", "SignatureValue does not verify"},
       kCryptoFails,
       "SignedProperties reference removed: its ds:Object is reported uncovered (signature "
       "wrapping defence) and the SignatureValue fails"},
  };
  return *cases;
}

struct TsvCase {
  std::string id, cwd, expected, features, command;
};

std::map<std::string, TsvCase> ReadCasesTsv() {
  std::map<std::string, TsvCase> out;
  std::ifstream in(testing::InteropDir() + "/cases.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits('|', 5));
    if (f.size() != 6) {
      continue;
    }
    out[f[0]] = TsvCase{f[0], f[1], f[2], f[3], f[5]};
  }
  return out;
}

const std::map<std::string, TsvCase>& TsvCases() {
  static const auto* cases = new std::map<std::string, TsvCase>(ReadCasesTsv());
  return *cases;
}

bool IsXmlDsigCase(const std::string& id) {
  return !id.empty() && absl::string_view("amcpxhie").find(id[0]) != absl::string_view::npos;
}

// Invocation is what the test takes from an xmlsec1 command line.
struct Invocation {
  std::vector<std::string> roots_pem, roots_der, intermediates_pem, intermediates_der;
  std::string at;  // --verification-gmt-time, "YYYY-MM-DD+HH:MM:SS"
  std::string file;
};

Invocation ParseCommand(const std::string& command) {
  std::vector<std::string> args = absl::StrSplit(command, ' ', absl::SkipEmpty());
  Invocation inv;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (a == "--trusted-pem") {
      inv.roots_pem.push_back(next());
    } else if (a == "--trusted-der") {
      inv.roots_der.push_back(next());
    } else if (a == "--untrusted-pem") {
      inv.intermediates_pem.push_back(next());
    } else if (a == "--untrusted-der") {
      inv.intermediates_der.push_back(next());
    } else if (a == "--verification-gmt-time") {
      inv.at = next();
    } else if (a.rfind("--pubkey-cert-", 0) == 0 || a == "--hmackey" ||
               a.rfind("--url-map:", 0) == 0 || a.rfind("--id-attr:", 0) == 0 ||
               a == "--enabled-key-data") {
      next();  // key material without trust, or options axis has no use for
    } else if (a.rfind("--", 0) != 0) {
      inv.file = a;
    }
  }
  return inv;
}

// kDefaultAt replaces "now" for cases without --verification-gmt-time, so
// the test does not depend on the wall clock (the case certificates that
// matter are valid then, as they were when MANIFEST.md was generated).
// xmlsec-head's test certificates start on 2026-03-08.
const absl::Time kDefaultAt = absl::FromUnixSeconds(1780272000);  // 2026-06-01T00:00:00Z

class InteropTest : public ::testing::TestWithParam<Case> {};

TEST(InteropTableTest, CoversEveryXmlDsigCaseOfCasesTsv) {
  std::set<std::string> in_tsv, in_table;
  for (const auto& [id, c] : TsvCases()) {
    if (IsXmlDsigCase(id)) {
      in_tsv.insert(id);
    }
  }
  for (const Case& c : Cases()) {
    in_table.insert(c.id);
  }
  EXPECT_FALSE(in_tsv.empty()) << "no cases read from " << testing::InteropDir();
  EXPECT_EQ(in_tsv, in_table);
}

TEST_P(InteropTest, VerifierGivesTheStrictProfilesVerdict) {
  const Case& c = GetParam();
  auto it = TsvCases().find(c.id);
  ASSERT_NE(it, TsvCases().end()) << c.id << " is not in cases.tsv";
  const TsvCase& tsv = it->second;
  SCOPED_TRACE(absl::StrCat(c.id, " (", tsv.features, "): ", c.why));
  const std::string dir = testing::InteropDir() + "/" + tsv.cwd + "/";
  Invocation inv = ParseCommand(tsv.command);
  ASSERT_FALSE(inv.file.empty()) << tsv.command;

  std::vector<std::string> roots, intermediates;
  for (const std::string& f : inv.roots_pem) {
    roots.push_back(dir + f);
  }
  for (const std::string& f : inv.intermediates_pem) {
    intermediates.push_back(dir + f);
  }
  absl::StatusOr<TrustStore> trust = TrustStore::FromPemFiles(roots, intermediates, {});
  ASSERT_TRUE(trust.ok()) << trust.status();
  for (const std::string& f : inv.roots_der) {
    absl::StatusOr<std::string> der = ReadFile(dir + f);
    ASSERT_TRUE(der.ok()) << der.status();
    absl::StatusOr<UniquePtr<X509>> cert = ParseDerCertificate(*der);
    ASSERT_TRUE(cert.ok()) << f << ": " << cert.status();
    trust->AddRoot(std::move(*cert));
  }
  for (const std::string& f : inv.intermediates_der) {
    absl::StatusOr<std::string> der = ReadFile(dir + f);
    ASSERT_TRUE(der.ok()) << der.status();
    absl::StatusOr<UniquePtr<X509>> cert = ParseDerCertificate(*der);
    ASSERT_TRUE(cert.ok()) << f << ": " << cert.status();
    trust->AddIntermediate(std::move(*cert));
  }

  VerifyOptions options;
  options.trust = &*trust;
  options.at = kDefaultAt;
  // The vectors are plain XML-DSig: judge them on everything but the XAdES
  // requirement, so the table's reasons are the ones that matter.
  options.require_xades = false;
  if (!inv.at.empty()) {
    std::string err;
    ASSERT_TRUE(absl::ParseTime("%Y-%m-%d+%H:%M:%S", inv.at, absl::UTCTimeZone(), &options.at,
                                &err))
        << inv.at << ": " << err;
  }
  options.document_name = inv.file;
  absl::StatusOr<std::string> xml = ReadFile(dir + inv.file);
  ASSERT_TRUE(xml.ok()) << xml.status();
  absl::StatusOr<Report> report = VerifyDocument(*xml, options);
  // Refusals must not leave OpenSSL errors behind for a later caller.
  EXPECT_EQ(ERR_peek_error(), 0u);

  // Everything axis said against the document, in one list.
  std::vector<std::string> reasons;
  bool valid = false;
  bool crypto_ok = false;
  bool crypto_failed = false;
  if (!report.ok()) {
    reasons.push_back(std::string(report.status().message()));
  } else {
    valid = report->Valid();
    reasons = report->problems;
    for (const SignatureReport& s : report->signatures) {
      reasons.insert(reasons.end(), s.reasons.begin(), s.reasons.end());
      crypto_ok = crypto_ok || s.cryptographic_ok;
    }
  }
  for (const std::string& r : reasons) {
    crypto_failed = crypto_failed || r.find("does not match") != std::string::npos ||
                    r.find("SignatureValue does not verify") != std::string::npos;
  }
  const std::string all = absl::StrJoin(reasons, "\n  ");
  SCOPED_TRACE(absl::StrCat("axis said:\n  ", all));

  if (tsv.expected == "invalid") {
    EXPECT_FALSE(valid) << "an invalid vector verified";
  }
  switch (c.outcome) {
    case kValid:
      EXPECT_EQ(valid, tsv.expected == "valid");
      break;
    case kPolicy:
      EXPECT_FALSE(valid);
      if (tsv.expected == "valid") {
        EXPECT_FALSE(crypto_failed) << "a valid vector failed its digest or SignatureValue";
      }
      break;
    case kBroken:
      EXPECT_FALSE(valid);
      EXPECT_EQ(tsv.expected, "invalid");
      break;
  }
  for (const std::string& want : c.reasons) {
    EXPECT_THAT(all, HasSubstr(want));
  }
  for (const std::string& unwanted : c.absent) {
    EXPECT_THAT(all, Not(HasSubstr(unwanted)));
  }
  if (c.crypto == kCryptoOk) {
    EXPECT_TRUE(crypto_ok) << "xmlsec did not verify the digests and SignatureValue";
  } else if (c.crypto == kCryptoFails) {
    EXPECT_TRUE(crypto_failed);
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, InteropTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.id; });

}  // namespace
}  // namespace axis::signer
