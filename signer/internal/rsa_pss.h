// rsa_pss.h: RSASSA-PSS signature methods for XML-DSig on xmlsec1 1.2.x.
//
// xmlsec1 1.2.37 knows no RSA-PSS SignatureMethod. This file adds the three
// RFC 6931 §2.3.10 algorithms as xmlsec transform klasses backed by OpenSSL's
// EVP_DigestSign/EVP_DigestVerify:
//
//   RSASSA-PSS, MGF1 with the same hash as the message digest,
//   salt length = hash length, trailer field 1 (0xBC).
//
// This is what the JDK's javax.xml.crypto.dsig calls SHA256_RSA_MGF1 and
// Apache Santuario calls ALGO_ID_SIGNATURE_RSA_SHA256_MGF1.
//
// The transforms take their key from xmlsec's OpenSSL RSA key data
// (xmlSecOpenSSLKeyDataRsaId, e.g. made by xmlSecOpenSSLEvpKeyAdopt): a
// private key to sign, a public (or private) key to verify. RSA keys shorter
// than kRsaPssMinKeyBits are refused when the key is set, which makes
// xmlSecDSigCtxSign/xmlSecDSigCtxVerify fail with an xmlsec error.
#ifndef AXIS_SIGNER_INTERNAL_RSA_PSS_H_
#define AXIS_SIGNER_INTERNAL_RSA_PSS_H_

#include <xmlsec/transforms.h>

#include "absl/status/status.h"

namespace axis::signer::internal {

// kRsaPssSha256Href and friends are the SignatureMethod Algorithm URIs
// (RFC 6931 §2.3.10).
inline constexpr char kRsaPssSha256Href[] =
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1";
inline constexpr char kRsaPssSha384Href[] =
    "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1";
inline constexpr char kRsaPssSha512Href[] =
    "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1";

// kRsaPssMinKeyBits is the smallest RSA modulus the transforms accept.
inline constexpr int kRsaPssMinKeyBits = 2048;

// RsaPssSha256TransformId returns the klass of the RSA-PSS-SHA256 signature
// method (name "rsa-pss-sha256", href kRsaPssSha256Href). The pointer is
// valid for the life of the process; it may be passed to
// xmlSecTmplSignatureCreate before RegisterRsaPssTransforms, but xmlsec only
// recognises the href when reading <SignatureMethod> after registration.
xmlSecTransformId RsaPssSha256TransformId();
// RsaPssSha384TransformId is RsaPssSha256TransformId for SHA-384
// ("rsa-pss-sha384", kRsaPssSha384Href).
xmlSecTransformId RsaPssSha384TransformId();
// RsaPssSha512TransformId is RsaPssSha256TransformId for SHA-512
// ("rsa-pss-sha512", kRsaPssSha512Href).
xmlSecTransformId RsaPssSha512TransformId();

// RegisterRsaPssTransforms adds the three transforms to xmlsec's global
// transform list (xmlSecTransformIdsRegister) so that <SignatureMethod>
// elements naming their hrefs are understood by xmlSecDSigCtxSign/Verify.
// Call it after xmlSecInit, xmlSecCryptoAppInit and xmlSecCryptoInit, from one
// thread, before any signing or verifying; calling it again is a no-op that
// returns OK (xmlSecShutdown empties the list, after which it may be called
// again). Returns kInternal when xmlsec refuses the registration.
absl::Status RegisterRsaPssTransforms();

}  // namespace axis::signer::internal

#endif  // AXIS_SIGNER_INTERNAL_RSA_PSS_H_
