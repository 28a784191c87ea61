// dsig.h: algorithm identifiers and document facts shared by sign and verify.
#ifndef AXIS_SIGNER_INTERNAL_DSIG_H_
#define AXIS_SIGNER_INTERNAL_DSIG_H_

#include <map>
#include <string>
#include <vector>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <xmlsec/transforms.h>

#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#include "absl/status/status.h"
#include "common/c_ptr.h"

AXIS_MAKE_DELETER(xmlSecDSigCtx, xmlSecDSigCtxDestroy)
AXIS_MAKE_DELETER(xmlSecKey, xmlSecKeyDestroy)

namespace axis::signer::internal {

inline constexpr char kXPath2Expression[] = "//ds:Signature";
inline constexpr char kSignedPropertiesType[] = "http://uri.etsi.org/01903#SignedProperties";

// SignatureAlgorithm describes one allowed XML-DSig SignatureMethod.
struct SignatureAlgorithm {
  const char* href;
  int key_type;        // EVP_PKEY_RSA or EVP_PKEY_EC
  const EVP_MD* (*md)();
  bool pss;
  xmlSecTransformId (*transform)();
};

// FindSignatureAlgorithm returns the allowed algorithm for `href`, or nullptr
// (SHA-1, MD5, DSA, HMAC and everything else are refused).
const SignatureAlgorithm* FindSignatureAlgorithm(const std::string& href);

// ChooseSignatureAlgorithm picks the algorithm for a key: RSA with SHA-256
// (PKCS#1 v1.5 or PSS), ECDSA with SHA-256/384/512 by curve size.
const SignatureAlgorithm* ChooseSignatureAlgorithm(EVP_PKEY* key, bool pss);

// DigestForHref returns the digest of an allowed DigestMethod href (SHA-256,
// SHA-384, SHA-512), or nullptr for every other.
const EVP_MD* DigestForHref(const std::string& href);

// IsAllowedDigest reports whether a DigestMethod href is SHA-256 or stronger.
inline bool IsAllowedDigest(const std::string& href) { return DigestForHref(href) != nullptr; }

// XmlSecKeyFor wraps `key` (taking a reference of its own) as an xmlsec key
// for xmlSecDSigCtx::signKey; nullptr when xmlsec refuses it.
UniquePtr<xmlSecKey> XmlSecKeyFor(EVP_PKEY* key);

// KeyInfoCertificates returns the certificates in the ds:KeyInfo/X509Data of
// signature `sig`, in document order (a hint: the signed properties say
// which one signed). Each unreadable one is skipped and, when `problems` is
// given, described there.
std::vector<UniquePtr<X509>> KeyInfoCertificates(xmlNode* sig, std::vector<std::string>* problems);

// IsC14n reports whether href is one of the canonicalization methods.
bool IsC14n(const std::string& href);

// CollectIds maps every Id attribute value to its element and reports the
// first duplicate (also of xml:id) in `duplicate`.
std::map<std::string, xmlNode*> CollectIds(xmlDoc* doc, std::string* duplicate);

// FindSignatures returns every ds:Signature element in document order.
std::vector<xmlNode*> FindSignatures(xmlDoc* doc);

}  // namespace axis::signer::internal

#endif  // AXIS_SIGNER_INTERNAL_DSIG_H_
