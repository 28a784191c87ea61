// rsa_pss.cc: xmlsec transform klasses for RSASSA-PSS (RFC 6931 §2.3.10).
//
// The klass layout follows xmlsec's own src/openssl/evp_signatures.c: a binary
// transform (default pushBin/popBin drive `execute`) whose per-transform
// context lives in the same allocation, right after the public
// xmlSecTransform struct; klass.objSize covers both. xmlsec zero-fills that
// allocation, calls `initialize`, and always calls `finalize` from
// xmlSecTransformDestroy (also when `initialize` failed), so the context is a
// C++ object constructed with placement new in Initialize and destroyed in
// Finalize.
#include "signer/internal/rsa_pss.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmlsec.h>

#include <cstddef>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/openssl_error.h"

// xmlSecSize and the layout of xmlSecTransform depend on the macros that
// `pkg-config --cflags xmlsec1-openssl` defines (XMLSEC_NO_SIZE_T, ...);
// building without them silently breaks the ABI.
#ifndef XMLSEC_CRYPTO_OPENSSL
#error "compile with $(pkg-config --cflags xmlsec1-openssl)"
#endif

namespace axis::signer::internal {
namespace {

// PssSpec describes one RFC 6931 RSA-PSS signature method.
struct PssSpec {
  const char* name;         // xmlsec transform name
  const char* href;         // SignatureMethod Algorithm URI
  const char* digest_name;  // OpenSSL digest name, also used for MGF1
  int salt_len;             // = digest output length in bytes
};

constexpr PssSpec kSpecs[] = {
    {"rsa-pss-sha256", kRsaPssSha256Href, "SHA256", 32},
    {"rsa-pss-sha384", kRsaPssSha384Href, "SHA384", 48},
    {"rsa-pss-sha512", kRsaPssSha512Href, "SHA512", 64},
};
constexpr int kNumSpecs = sizeof(kSpecs) / sizeof(kSpecs[0]);

// PssCtx is the per-transform state stored after xmlSecTransform.
struct PssCtx {
  const PssSpec* spec = nullptr;
  // key is the RSA key set by SetKey (a reference we own).
  UniquePtr<EVP_PKEY> key;
  // md_ctx is the running EVP_DigestSign/EVP_DigestVerify context; it is
  // created when the first data arrives.
  UniquePtr<EVP_MD_CTX> md_ctx;
};

// kCtxOffset is where PssCtx starts inside the transform allocation.
constexpr std::size_t kCtxOffset =
    (sizeof(xmlSecTransform) + alignof(PssCtx) - 1) / alignof(PssCtx) * alignof(PssCtx);
constexpr std::size_t kObjSize = kCtxOffset + sizeof(PssCtx);
// xmlMalloc returns memory aligned for any fundamental type.
static_assert(alignof(PssCtx) <= alignof(std::max_align_t));

// TransformName is the klass name of `transform`, for error messages.
const char* TransformName(xmlSecTransformPtr transform) {
  return reinterpret_cast<const char*>(xmlSecTransformGetName(transform));
}

// ReportError records an xmlsec error (printed by xmlsec's error callback)
// for `transform`; `subject` names the failing operation. Pending OpenSSL
// errors are drained into the message.
//
// The caller's location comes from the __builtin_FILE/LINE/FUNCTION default
// arguments rather than std::source_location: clang 14 with libstdc++ 12
// (the AXIS_FUZZ build) has no __builtin_source_location.
void ReportError(xmlSecTransformPtr transform, const char* subject, int reason,
                 const std::string& message, const char* file = __builtin_FILE(),
                 int line = __builtin_LINE(), const char* function = __builtin_FUNCTION()) {
  std::string text = message;
  std::string openssl = DrainOpenSslErrors();
  if (!openssl.empty()) {
    absl::StrAppend(&text, " (openssl: ", openssl, ")");
  }
  xmlSecError(file, line, function,
              TransformName(transform), subject, reason, "%s", text.c_str());
}

const xmlSecTransformKlass* Klasses();

// SpecIndex returns the index in kSpecs of `transform`'s klass, or -1 when
// the transform is not one of ours.
int SpecIndex(xmlSecTransformPtr transform) {
  if (!xmlSecTransformIsValid(transform)) {
    return -1;
  }
  for (int i = 0; i < kNumSpecs; ++i) {
    if (transform->id == &Klasses()[i]) {
      return i;
    }
  }
  return -1;
}

// GetCtx returns the context of one of our transforms, or nullptr for any
// other transform or one allocated too small.
PssCtx* GetCtx(xmlSecTransformPtr transform) {
  if (SpecIndex(transform) < 0 || !xmlSecTransformCheckSize(transform, kObjSize)) {
    return nullptr;
  }
  return std::launder(
      reinterpret_cast<PssCtx*>(reinterpret_cast<unsigned char*>(transform) + kCtxOffset));
}

// IsSignOrVerify reports whether xmlsec set up `transform` for a signature.
bool IsSignOrVerify(xmlSecTransformPtr transform) {
  return transform->operation == xmlSecTransformOperationSign ||
         transform->operation == xmlSecTransformOperationVerify;
}

// Initialize constructs the PssCtx of a freshly allocated (zeroed) transform.
int Initialize(xmlSecTransformPtr transform) {
  int index = SpecIndex(transform);
  xmlSecAssert2(index >= 0, -1);
  xmlSecAssert2(xmlSecTransformCheckSize(transform, kObjSize), -1);
  PssCtx* ctx = new (reinterpret_cast<unsigned char*>(transform) + kCtxOffset) PssCtx();
  ctx->spec = &kSpecs[index];
  return 0;
}

// Finalize destroys the PssCtx, releasing the key and digest context.
void Finalize(xmlSecTransformPtr transform) {
  PssCtx* ctx = GetCtx(transform);
  xmlSecAssert(ctx != nullptr);
  ctx->~PssCtx();
}

// SetKeyReq asks for an RSA key: private to sign, public to verify.
int SetKeyReq(xmlSecTransformPtr transform, xmlSecKeyReqPtr key_req) {
  xmlSecAssert2(GetCtx(transform) != nullptr, -1);
  xmlSecAssert2(IsSignOrVerify(transform), -1);
  xmlSecAssert2(key_req != nullptr, -1);
  key_req->keyId = xmlSecOpenSSLKeyDataRsaId;
  if (transform->operation == xmlSecTransformOperationSign) {
    key_req->keyType = xmlSecKeyDataTypePrivate;
    key_req->keyUsage = xmlSecKeyUsageSign;
  } else {
    key_req->keyType = xmlSecKeyDataTypePublic;
    key_req->keyUsage = xmlSecKeyUsageVerify;
  }
  // keyBitsSize stays 0: a short key is refused in SetKey with a clear error
  // instead of a generic "key not found" from xmlSecKeyMatch.
  return 0;
}

// SetKey takes a reference to the RSA key of `key`, refusing anything but an
// RSA key of at least kRsaPssMinKeyBits.
int SetKey(xmlSecTransformPtr transform, xmlSecKeyPtr key) {
  PssCtx* ctx = GetCtx(transform);
  xmlSecAssert2(ctx != nullptr, -1);
  xmlSecAssert2(IsSignOrVerify(transform), -1);
  xmlSecAssert2(key != nullptr, -1);

  if (!xmlSecKeyCheckId(key, xmlSecOpenSSLKeyDataRsaId)) {
    ReportError(transform, "xmlSecKeyCheckId", XMLSEC_ERRORS_R_INVALID_KEY_DATA,
                "RSA-PSS needs an RSA key (xmlSecOpenSSLKeyDataRsaId)");
    return -1;
  }
  EVP_PKEY* pkey = xmlSecOpenSSLKeyDataRsaGetEvp(xmlSecKeyGetValue(key));
  if (pkey == nullptr) {
    ReportError(transform, "xmlSecOpenSSLKeyDataRsaGetEvp", XMLSEC_ERRORS_R_INVALID_KEY_DATA,
                "the RSA key data holds no key");
    return -1;
  }
  int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kRsaPssMinKeyBits) {
    ReportError(transform, "EVP_PKEY_get_bits", XMLSEC_ERRORS_R_INVALID_KEY_DATA_SIZE,
                absl::StrCat("RSA key is ", bits, " bits; RSA-PSS signatures need at least ",
                             kRsaPssMinKeyBits));
    return -1;
  }
  if (EVP_PKEY_up_ref(pkey) != 1) {
    ReportError(transform, "EVP_PKEY_up_ref", XMLSEC_ERRORS_R_CRYPTO_FAILED, "cannot ref key");
    return -1;
  }
  ctx->key.reset(pkey);
  ctx->md_ctx.reset();
  return 0;
}

// StartDigest creates ctx->md_ctx for signing or verifying with the PSS
// parameters of ctx->spec. Returns false after reporting an xmlsec error.
bool StartDigest(xmlSecTransformPtr transform, PssCtx* ctx) {
  UniquePtr<EVP_MD_CTX> md_ctx(EVP_MD_CTX_new());
  if (md_ctx == nullptr) {
    ReportError(transform, "EVP_MD_CTX_new", XMLSEC_ERRORS_R_CRYPTO_FAILED, "out of memory");
    return false;
  }
  // pctx belongs to md_ctx.
  EVP_PKEY_CTX* pctx = nullptr;
  const bool sign = transform->operation == xmlSecTransformOperationSign;
  int ret =
      sign ? EVP_DigestSignInit_ex(md_ctx.get(), &pctx, ctx->spec->digest_name,
                                   xmlSecOpenSSLGetLibCtx(), nullptr, ctx->key.get(), nullptr)
           : EVP_DigestVerifyInit_ex(md_ctx.get(), &pctx, ctx->spec->digest_name,
                                     xmlSecOpenSSLGetLibCtx(), nullptr, ctx->key.get(), nullptr);
  if (ret != 1 || pctx == nullptr) {
    ReportError(transform, sign ? "EVP_DigestSignInit_ex" : "EVP_DigestVerifyInit_ex",
                XMLSEC_ERRORS_R_CRYPTO_FAILED, "cannot start RSA-PSS");
    return false;
  }
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, ctx->spec->digest_name, nullptr) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, ctx->spec->salt_len) != 1) {
    ReportError(transform, "EVP_PKEY_CTX_set_rsa_*", XMLSEC_ERRORS_R_CRYPTO_FAILED,
                "cannot set PSS parameters");
    return false;
  }
  ctx->md_ctx = std::move(md_ctx);
  return true;
}

// Execute consumes inBuf into the running digest; on the last chunk it
// writes the signature to outBuf (sign) or waits for Verify (verify).
int Execute(xmlSecTransformPtr transform, int last, xmlSecTransformCtxPtr transform_ctx) {
  PssCtx* ctx = GetCtx(transform);
  xmlSecAssert2(ctx != nullptr, -1);
  xmlSecAssert2(IsSignOrVerify(transform), -1);
  xmlSecAssert2(transform_ctx != nullptr, -1);
  xmlSecBufferPtr in = &transform->inBuf;
  xmlSecBufferPtr out = &transform->outBuf;
  const bool sign = transform->operation == xmlSecTransformOperationSign;

  if (transform->status == xmlSecTransformStatusNone) {
    xmlSecAssert2(xmlSecBufferGetSize(out) == 0, -1);
    if (ctx->key == nullptr) {
      ReportError(transform, "Execute", XMLSEC_ERRORS_R_INVALID_KEY_DATA, "no key was set");
      return -1;
    }
    if (!StartDigest(transform, ctx)) {
      return -1;
    }
    transform->status = xmlSecTransformStatusWorking;
  }

  if (transform->status == xmlSecTransformStatusWorking) {
    xmlSecSize in_size = xmlSecBufferGetSize(in);
    if (in_size > 0) {
      int ret = sign ? EVP_DigestSignUpdate(ctx->md_ctx.get(), xmlSecBufferGetData(in), in_size)
                     : EVP_DigestVerifyUpdate(ctx->md_ctx.get(), xmlSecBufferGetData(in), in_size);
      if (ret != 1) {
        ReportError(transform, sign ? "EVP_DigestSignUpdate" : "EVP_DigestVerifyUpdate",
                    XMLSEC_ERRORS_R_CRYPTO_FAILED, "digest update failed");
        return -1;
      }
      if (xmlSecBufferRemoveHead(in, in_size) < 0) {
        ReportError(transform, "xmlSecBufferRemoveHead", XMLSEC_ERRORS_R_XMLSEC_FAILED,
                    "cannot consume input");
        return -1;
      }
    }
  }

  if (transform->status == xmlSecTransformStatusWorking && last != 0) {
    if (sign) {
      std::size_t sig_len = 0;
      if (EVP_DigestSignFinal(ctx->md_ctx.get(), nullptr, &sig_len) != 1) {
        ReportError(transform, "EVP_DigestSignFinal", XMLSEC_ERRORS_R_CRYPTO_FAILED,
                    "cannot size the signature");
        return -1;
      }
      if (xmlSecBufferSetMaxSize(out, static_cast<xmlSecSize>(sig_len)) < 0) {
        ReportError(transform, "xmlSecBufferSetMaxSize", XMLSEC_ERRORS_R_XMLSEC_FAILED,
                    absl::StrCat("size=", sig_len));
        return -1;
      }
      if (EVP_DigestSignFinal(ctx->md_ctx.get(), xmlSecBufferGetData(out), &sig_len) != 1) {
        ReportError(transform, "EVP_DigestSignFinal", XMLSEC_ERRORS_R_CRYPTO_FAILED,
                    "RSA-PSS signing failed");
        return -1;
      }
      if (xmlSecBufferSetSize(out, static_cast<xmlSecSize>(sig_len)) < 0) {
        ReportError(transform, "xmlSecBufferSetSize", XMLSEC_ERRORS_R_XMLSEC_FAILED,
                    absl::StrCat("size=", sig_len));
        return -1;
      }
      ctx->md_ctx.reset();
    }
    transform->status = xmlSecTransformStatusFinished;
  }

  if (transform->status != xmlSecTransformStatusWorking &&
      transform->status != xmlSecTransformStatusFinished) {
    ReportError(transform, "Execute", XMLSEC_ERRORS_R_INVALID_STATUS,
                absl::StrCat("unexpected transform status ", transform->status));
    return -1;
  }
  // Nothing may be left behind: every chunk was consumed above.
  xmlSecAssert2(xmlSecBufferGetSize(in) == 0, -1);
  return 0;
}

// Verify checks the decoded SignatureValue against the finished digest and
// sets transform->status to Ok or Fail. A mismatching or malformed signature
// is a verification result (returns 0), not an error.
int Verify(xmlSecTransformPtr transform, const xmlSecByte* data, xmlSecSize data_size,
           xmlSecTransformCtxPtr transform_ctx) {
  PssCtx* ctx = GetCtx(transform);
  xmlSecAssert2(ctx != nullptr, -1);
  xmlSecAssert2(transform->operation == xmlSecTransformOperationVerify, -1);
  xmlSecAssert2(transform->status == xmlSecTransformStatusFinished, -1);
  xmlSecAssert2(data != nullptr, -1);
  xmlSecAssert2(transform_ctx != nullptr, -1);
  xmlSecAssert2(ctx->md_ctx != nullptr, -1);

  int ret = EVP_DigestVerifyFinal(ctx->md_ctx.get(), data, data_size);
  ctx->md_ctx.reset();
  if (ret != 1) {
    ReportError(transform, "EVP_DigestVerifyFinal", XMLSEC_ERRORS_R_DATA_NOT_MATCH,
                "RSA-PSS signature verification failed");
    transform->status = xmlSecTransformStatusFail;
    return 0;
  }
  transform->status = xmlSecTransformStatusOk;
  return 0;
}

// MakeKlass builds the klass of `spec`. xmlSecTransformKlass is a const
// typedef, so it is built in one aggregate initialisation.
xmlSecTransformKlass MakeKlass(const PssSpec& spec) {
  return xmlSecTransformKlass{
      .klassSize = sizeof(xmlSecTransformKlass),
      .objSize = static_cast<xmlSecSize>(kObjSize),
      .name = reinterpret_cast<const xmlChar*>(spec.name),
      .href = reinterpret_cast<const xmlChar*>(spec.href),
      .usage = xmlSecTransformUsageSignatureMethod,
      .initialize = Initialize,
      .finalize = Finalize,
      .readNode = nullptr,
      .writeNode = nullptr,
      .setKeyReq = SetKeyReq,
      .setKey = SetKey,
      .verify = Verify,
      .getDataType = xmlSecTransformDefaultGetDataType,
      .pushBin = xmlSecTransformDefaultPushBin,
      .popBin = xmlSecTransformDefaultPopBin,
      .pushXml = nullptr,
      .popXml = nullptr,
      .execute = Execute,
      .reserved0 = nullptr,
      .reserved1 = nullptr,
  };
}

// Klasses returns the three klasses, in kSpecs order.
const xmlSecTransformKlass* Klasses() {
  static const xmlSecTransformKlass klasses[kNumSpecs] = {
      MakeKlass(kSpecs[0]),
      MakeKlass(kSpecs[1]),
      MakeKlass(kSpecs[2]),
  };
  return klasses;
}

}  // namespace

xmlSecTransformId RsaPssSha256TransformId() { return &Klasses()[0]; }
xmlSecTransformId RsaPssSha384TransformId() { return &Klasses()[1]; }
xmlSecTransformId RsaPssSha512TransformId() { return &Klasses()[2]; }

absl::Status RegisterRsaPssTransforms() {
  xmlSecPtrListPtr registered = xmlSecTransformIdsGet();
  // xmlSecInit registers the default transforms; an empty list means it has
  // not run (or xmlSecShutdown has).
  if (registered == nullptr || xmlSecPtrListGetSize(registered) == 0) {
    return absl::FailedPreconditionError("xmlsec is not initialised (call xmlSecInit first)");
  }
  for (int i = 0; i < kNumSpecs; ++i) {
    xmlSecTransformId id = &Klasses()[i];
    if (xmlSecTransformIdListFind(registered, id) == 1) {
      continue;
    }
    if (xmlSecTransformIdsRegister(id) < 0) {
      return absl::InternalError(
          absl::StrCat("xmlSecTransformIdsRegister failed for ", kSpecs[i].name));
    }
  }
  return absl::OkStatus();
}

}  // namespace axis::signer::internal
