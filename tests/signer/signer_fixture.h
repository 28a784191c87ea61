// signer_fixture.h: what the signer's tests share: the test PKI's keys and
// trust store, a Vietnamese official document, a fixed evaluation time, and
// small helpers to tamper with signed XML as text or through libxml2.
#ifndef AXIS_TESTS_SIGNER_SIGNER_FIXTURE_H_
#define AXIS_TESTS_SIGNER_SIGNER_FIXTURE_H_

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/c_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/certs.h"
#include "signer/keys.h"
#include "signer/report.h"
#include "signer/sign.h"
#include "signer/verify.h"
#include "signer/xml.h"
#include "tests/testing/paths.h"

namespace axis::signer::test {

// kDocument is a small official decision with Vietnamese text (precomposed
// and combining-free UTF-8) and an Id on its root, as edXML documents have.
inline constexpr char kDocument[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VanBan xmlns=\"urn:axis:test:vanban\" Id=\"vanban-1\">\n"
    "  <SoKyHieu>123/QĐ-TTg</SoKyHieu>\n"
    "  <TrichYeu>Quyết định số 123/QĐ-TTg của Thủ tướng Chính phủ</TrichYeu>\n"
    "  <NoiDung>Điều 1. Phê duyệt Đề án chuyển đổi số quốc gia.</NoiDung>\n"
    "  <NoiNhan>Các Bộ, cơ quan ngang Bộ; UBND các tỉnh, thành phố.</NoiNhan>\n"
    "</VanBan>\n";

inline constexpr char kTitle[] = "Quyết định số 123/QĐ-TTg của Thủ tướng Chính phủ";

// EvaluationTime is when the tests judge signatures: inside every positive
// certificate's validity (2025..2049) and after the revocation of
// negative/revoked-leader and the CRL's lastUpdate (both 2026-01-01).
inline absl::Time EvaluationTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());
}
inline absl::Time SigningTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 5, 20, 8, 30, 0), absl::UTCTimeZone());
}

inline std::string Pki(const std::string& rel) { return axis::testing::PkiPath(rel); }

inline std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteTestFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

// LoadKey loads `prefix`.key.pem and `prefix`.cert.pem below pki-testdata/
// with chain.pem as the chain, e.g. "agencies/vpcp/leader".
inline SigningKey LoadKey(const std::string& prefix) {
  KeySpec spec;
  spec.key = Pki(prefix + ".key.pem");
  spec.cert_path = Pki(prefix + ".cert.pem");
  spec.chain_path = Pki("chain.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  EXPECT_TRUE(key.ok()) << prefix << ": " << key.status();
  return key.ok() ? std::move(*key) : SigningKey();
}

// CertOf loads the first certificate of a PEM file below pki-testdata/.
inline UniquePtr<X509> CertOf(const std::string& rel) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(Pki(rel));
  EXPECT_TRUE(certs.ok()) << rel << ": " << certs.status();
  return certs.ok() ? std::move((*certs)[0]) : nullptr;
}

// Trust is roots.pem + chain.pem, with crl.pem when `with_crl`. Built once.
inline const TrustStore& Trust(bool with_crl = true) {
  static const TrustStore* with = [] {
    absl::StatusOr<TrustStore> t =
        TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {Pki("crl.pem")});
    EXPECT_TRUE(t.ok()) << t.status();
    return new TrustStore(t.ok() ? std::move(*t) : TrustStore());
  }();
  static const TrustStore* without = [] {
    absl::StatusOr<TrustStore> t =
        TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {});
    EXPECT_TRUE(t.ok()) << t.status();
    return new TrustStore(t.ok() ? std::move(*t) : TrustStore());
  }();
  return with_crl ? *with : *without;
}

// Sign adds one signature and fails the test when it cannot.
inline std::string Sign(const std::string& xml, const SigningKey& key, SignOptions options = {}) {
  if (options.signing_time == absl::InfinitePast()) {
    options.signing_time = SigningTime();
  }
  absl::StatusOr<std::string> out = SignDocument(xml, key, options);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

// Verify judges `xml` at `at` against Trust(with_crl), offline; it fails
// the test when the XML is unreadable. Without the CRL the signer's
// revocation is unknown, which the strict profile refuses. `require_xades`
// false admits plain XML-DSig.
inline Report Verify(const std::string& xml, absl::Time at = EvaluationTime(),
                     bool with_crl = true, bool require_xades = true) {
  VerifyOptions options;
  options.trust = &Trust(with_crl);
  options.at = at;
  options.require_xades = require_xades;
  options.document_name = "decision.xml";
  // Unit tests never ask an OCSP responder: revocation comes from the CRL
  // or is unknown.
  options.offline = true;
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? std::move(*report) : Report();
}

// SignatureById finds a signature's report, or nullptr.
inline const SignatureReport* SignatureById(const Report& report, const std::string& id) {
  for (const SignatureReport& s : report.signatures) {
    if (s.id == id) {
      return &s;
    }
  }
  return nullptr;
}

// ReplaceOnce replaces the first occurrence of `from` (which must occur).
inline std::string ReplaceOnce(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "\"" << from << "\" not in the document";
  if (at != std::string::npos) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// ReplaceNth replaces the n-th (0-based) occurrence of `from`.
inline std::string ReplaceNth(std::string s, const std::string& from, const std::string& to,
                              int n) {
  size_t at = std::string::npos;
  size_t pos = 0;
  for (int i = 0; i <= n; ++i) {
    at = s.find(from, pos);
    if (at == std::string::npos) {
      break;
    }
    pos = at + from.size();
  }
  EXPECT_NE(at, std::string::npos) << "occurrence " << n << " of \"" << from << "\" missing";
  if (at != std::string::npos) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// ElementText returns the text of the first element `<name ...>text</name>`
// (qualified name as written) after `from`.
inline std::string ElementText(const std::string& xml, const std::string& qname, size_t from = 0) {
  size_t open = xml.find("<" + qname, from);
  if (open == std::string::npos) {
    return "";
  }
  size_t start = xml.find('>', open) + 1;
  size_t end = xml.find("</" + qname + ">", start);
  return xml.substr(start, end - start);
}

// FlipBase64 changes one base64 character in the middle of `value`.
inline std::string FlipBase64(std::string value) {
  size_t mid = value.size() / 2;
  while (mid < value.size() && (value[mid] == '\n' || value[mid] == '=')) {
    ++mid;
  }
  value[mid] = value[mid] == 'A' ? 'B' : 'A';
  return value;
}

// EditableDoc is a signed document opened with libxml2 for structural
// tampering, with XPath prefixes ds, xades and vb (the test document's).
class EditableDoc {
 public:
  explicit EditableDoc(const std::string& xml) {
    absl::StatusOr<UniquePtr<xmlDoc>> doc = ParseXml(xml, "test document");
    EXPECT_TRUE(doc.ok()) << doc.status();
    if (doc.ok()) {
      doc_ = std::move(*doc);
    }
  }
  xmlDoc* doc() { return doc_.get(); }
  xmlNode* root() { return xmlDocGetRootElement(doc_.get()); }

  // All returns the nodes matching `xpath`.
  std::vector<xmlNode*> All(const std::string& xpath) {
    std::vector<xmlNode*> out;
    UniquePtr<xmlXPathContext> ctx(xmlXPathNewContext(doc_.get()));
    xmlXPathRegisterNs(ctx.get(), BAD_CAST "ds", BAD_CAST kDsigNs);
    xmlXPathRegisterNs(ctx.get(), BAD_CAST "xades", BAD_CAST kXadesNs);
    xmlXPathRegisterNs(ctx.get(), BAD_CAST "vb", BAD_CAST "urn:axis:test:vanban");
    UniquePtr<xmlXPathObject> r(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()));
    if (r != nullptr && r->nodesetval != nullptr) {
      for (int i = 0; i < r->nodesetval->nodeNr; ++i) {
        out.push_back(r->nodesetval->nodeTab[i]);
      }
    }
    return out;
  }
  // One returns the single node matching `xpath` (and fails the test when
  // there is not exactly one).
  xmlNode* One(const std::string& xpath) {
    std::vector<xmlNode*> nodes = All(xpath);
    EXPECT_EQ(nodes.size(), 1u) << xpath;
    return nodes.empty() ? nullptr : nodes[0];
  }
  std::string Serialize() { return SerializeXml(doc_.get()); }

 private:
  UniquePtr<xmlDoc> doc_;
};

// Signers used across the tests, loaded once.
struct Keys {
  SigningKey vpcp_leader = LoadKey("agencies/vpcp/leader");
  SigningKey vpcp_seal = LoadKey("agencies/vpcp/seal");
  SigningKey mic_leader = LoadKey("agencies/mic/leader");
  SigningKey mic_seal = LoadKey("agencies/mic/seal");
  SigningKey quangninh_leader = LoadKey("agencies/quangninh/leader");
  SigningKey quangninh_seal = LoadKey("agencies/quangninh/seal");
};
inline const Keys& TestKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

// LeaderThenSeal is kDocument signed by the vpcp leader (role Thủ tướng) and
// then by the vpcp seal, computed once.
inline const std::string& LeaderThenSeal() {
  static const std::string* xml = [] {
    SignOptions leader;
    leader.role = "Thủ tướng";
    std::string once = Sign(kDocument, TestKeys().vpcp_leader, leader);
    return new std::string(Sign(once, TestKeys().vpcp_seal));
  }();
  return *xml;
}

// ReasonsAre / HasReason: readable expectations on reasons.
MATCHER_P(HasReason, substring,
          std::string(negation ? "has no reason containing " : "has a reason containing ") +
              ::testing::PrintToString(substring)) {
  for (const std::string& r : arg.reasons) {
    if (r.find(substring) != std::string::npos) {
      return true;
    }
  }
  *result_listener << "reasons: " << ::testing::PrintToString(arg.reasons);
  return false;
}

MATCHER_P(HasProblem, substring,
          std::string(negation ? "has no problem containing " : "has a problem containing ") +
              ::testing::PrintToString(substring)) {
  for (const std::string& p : arg.problems) {
    if (p.find(substring) != std::string::npos) {
      return true;
    }
  }
  *result_listener << "problems: " << ::testing::PrintToString(arg.problems);
  return false;
}

}  // namespace axis::signer::test

#endif  // AXIS_TESTS_SIGNER_SIGNER_FIXTURE_H_
