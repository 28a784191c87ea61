// c_ptr.h: owning smart pointers for OpenSSL, libxml2 and xmlsec objects.
//
// axis::UniquePtr<T> is a std::unique_ptr whose deleter is specialised per C
// type with AXIS_MAKE_DELETER, as BoringSSL's bssl::UniquePtr does. Component
// code never calls *_free directly.
#ifndef AXIS_COMMON_C_PTR_H_
#define AXIS_COMMON_C_PTR_H_

#include <memory>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xpath.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace axis {
namespace internal {
template <typename T>
struct Deleter;
}  // namespace internal

template <typename T>
using UniquePtr = std::unique_ptr<T, internal::Deleter<T>>;

}  // namespace axis

#define AXIS_MAKE_DELETER(type, free_fn)          \
  namespace axis::internal {                      \
  template <>                                     \
  struct Deleter<type> {                          \
    void operator()(type* p) const { free_fn(p); } \
  };                                              \
  }

AXIS_MAKE_DELETER(BIO, BIO_free_all)
AXIS_MAKE_DELETER(BIGNUM, BN_free)
AXIS_MAKE_DELETER(EVP_PKEY, EVP_PKEY_free)
AXIS_MAKE_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
AXIS_MAKE_DELETER(EVP_MD_CTX, EVP_MD_CTX_free)
AXIS_MAKE_DELETER(EVP_ENCODE_CTX, EVP_ENCODE_CTX_free)
AXIS_MAKE_DELETER(ECDSA_SIG, ECDSA_SIG_free)
AXIS_MAKE_DELETER(X509, X509_free)
AXIS_MAKE_DELETER(X509_CRL, X509_CRL_free)
AXIS_MAKE_DELETER(X509_STORE, X509_STORE_free)
AXIS_MAKE_DELETER(X509_STORE_CTX, X509_STORE_CTX_free)
AXIS_MAKE_DELETER(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free)
AXIS_MAKE_DELETER(PKCS12, PKCS12_free)
// ASN1_TIME, ASN1_INTEGER and ASN1_OCTET_STRING are all ASN1_STRING.
AXIS_MAKE_DELETER(ASN1_STRING, ASN1_STRING_free)
AXIS_MAKE_DELETER(OCSP_REQUEST, OCSP_REQUEST_free)
AXIS_MAKE_DELETER(OCSP_RESPONSE, OCSP_RESPONSE_free)
AXIS_MAKE_DELETER(OCSP_BASICRESP, OCSP_BASICRESP_free)
AXIS_MAKE_DELETER(OCSP_CERTID, OCSP_CERTID_free)
AXIS_MAKE_DELETER(TS_REQ, TS_REQ_free)
AXIS_MAKE_DELETER(TS_RESP, TS_RESP_free)
AXIS_MAKE_DELETER(TS_MSG_IMPRINT, TS_MSG_IMPRINT_free)
AXIS_MAKE_DELETER(TS_VERIFY_CTX, TS_VERIFY_CTX_free)
AXIS_MAKE_DELETER(TS_RESP_CTX, TS_RESP_CTX_free)
AXIS_MAKE_DELETER(TS_TST_INFO, TS_TST_INFO_free)
AXIS_MAKE_DELETER(PKCS7, PKCS7_free)
AXIS_MAKE_DELETER(ASN1_OBJECT, ASN1_OBJECT_free)
AXIS_MAKE_DELETER(X509_ALGOR, X509_ALGOR_free)
AXIS_MAKE_DELETER(CMS_ContentInfo, CMS_ContentInfo_free)
AXIS_MAKE_DELETER(GENERAL_NAMES, GENERAL_NAMES_free)
AXIS_MAKE_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free)
AXIS_MAKE_DELETER(xmlDoc, xmlFreeDoc)
AXIS_MAKE_DELETER(xmlXPathContext, xmlXPathFreeContext)
AXIS_MAKE_DELETER(xmlXPathObject, xmlXPathFreeObject)
AXIS_MAKE_DELETER(xmlChar, xmlFree)
AXIS_MAKE_DELETER(xmlParserCtxt, xmlFreeParserCtxt)
AXIS_MAKE_DELETER(xmlTextWriter, xmlFreeTextWriter)
AXIS_MAKE_DELETER(xmlBuffer, xmlBufferFree)

namespace axis::internal {
// STACK_OF(X509) owns its certificates.
template <>
struct Deleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
template <>
struct Deleter<STACK_OF(X509_CRL)> {
  void operator()(STACK_OF(X509_CRL) * p) const { sk_X509_CRL_pop_free(p, X509_CRL_free); }
};
}  // namespace axis::internal

#endif  // AXIS_COMMON_C_PTR_H_
