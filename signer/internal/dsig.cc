#include "signer/internal/dsig.h"

#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>

#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "signer/certs.h"
#include "signer/internal/rsa_pss.h"
#include "signer/xml.h"

namespace axis::signer::internal {
namespace {

xmlSecTransformId RsaSha256() { return xmlSecOpenSSLTransformRsaSha256Id; }
xmlSecTransformId RsaSha384() { return xmlSecOpenSSLTransformRsaSha384Id; }
xmlSecTransformId RsaSha512() { return xmlSecOpenSSLTransformRsaSha512Id; }
xmlSecTransformId EcdsaSha256() { return xmlSecOpenSSLTransformEcdsaSha256Id; }
xmlSecTransformId EcdsaSha384() { return xmlSecOpenSSLTransformEcdsaSha384Id; }
xmlSecTransformId EcdsaSha512() { return xmlSecOpenSSLTransformEcdsaSha512Id; }

const SignatureAlgorithm kAlgorithms[] = {
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", EVP_PKEY_RSA, EVP_sha256, false,
     RsaSha256},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", EVP_PKEY_RSA, EVP_sha384, false,
     RsaSha384},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", EVP_PKEY_RSA, EVP_sha512, false,
     RsaSha512},
    {kRsaPssSha256Href, EVP_PKEY_RSA, EVP_sha256, true, RsaPssSha256TransformId},
    {kRsaPssSha384Href, EVP_PKEY_RSA, EVP_sha384, true, RsaPssSha384TransformId},
    {kRsaPssSha512Href, EVP_PKEY_RSA, EVP_sha512, true, RsaPssSha512TransformId},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", EVP_PKEY_EC, EVP_sha256, false,
     EcdsaSha256},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", EVP_PKEY_EC, EVP_sha384, false,
     EcdsaSha384},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", EVP_PKEY_EC, EVP_sha512, false,
     EcdsaSha512},
};

void Walk(xmlNode* node, const std::function<void(xmlNode*)>& visit) {
  for (xmlNode* c = node; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      visit(c);
      Walk(c->children, visit);
    }
  }
}

}  // namespace

const SignatureAlgorithm* FindSignatureAlgorithm(const std::string& href) {
  for (const SignatureAlgorithm& a : kAlgorithms) {
    if (href == a.href) {
      return &a;
    }
  }
  return nullptr;
}

const SignatureAlgorithm* ChooseSignatureAlgorithm(EVP_PKEY* key, bool pss) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    return pss ? &kAlgorithms[3] : &kAlgorithms[0];
  }
  if (id == EVP_PKEY_EC) {
    int bits = EVP_PKEY_get_bits(key);
    return bits <= 256 ? &kAlgorithms[6] : bits <= 384 ? &kAlgorithms[7] : &kAlgorithms[8];
  }
  return nullptr;
}

const EVP_MD* DigestForHref(const std::string& href) {
  if (href == "http://www.w3.org/2001/04/xmlenc#sha256") {
    return EVP_sha256();
  }
  if (href == "http://www.w3.org/2001/04/xmldsig-more#sha384") {
    return EVP_sha384();
  }
  if (href == "http://www.w3.org/2001/04/xmlenc#sha512") {
    return EVP_sha512();
  }
  return nullptr;
}

UniquePtr<xmlSecKey> XmlSecKeyFor(EVP_PKEY* key) {
  UniquePtr<xmlSecKey> out(xmlSecKeyCreate());
  if (out == nullptr) {
    return nullptr;
  }
  EVP_PKEY_up_ref(key);
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(key);
  if (data == nullptr) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  if (xmlSecKeySetValue(out.get(), data) < 0) {
    xmlSecKeyDataDestroy(data);
    return nullptr;
  }
  return out;
}

bool IsC14n(const std::string& href) {
  static const std::set<std::string> kC14n = {
      "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
      "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
      "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
      "http://www.w3.org/2006/12/xml-c14n11",
      "http://www.w3.org/2006/12/xml-c14n11#WithComments",
  };
  return kC14n.count(href) > 0;
}

std::map<std::string, xmlNode*> CollectIds(xmlDoc* doc, std::string* duplicate) {
  // Any attribute whose local name is Id counts, in any namespace: xmlsec's
  // xmlSecAddIDs registers p:Id too, and the two must agree on what an Id
  // names. xml:id values share the same space.
  std::map<std::string, xmlNode*> ids;
  std::set<std::string> xml_ids;
  duplicate->clear();
  Walk(xmlDocGetRootElement(doc), [&](xmlNode* n) {
    for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
      bool is_id = xmlStrcmp(a->name, BAD_CAST "Id") == 0;
      bool is_xml_id = a->ns != nullptr && xmlStrcmp(a->name, BAD_CAST "id") == 0 &&
                       xmlStrcmp(a->ns->href, XML_XML_NAMESPACE) == 0;
      if (!is_id && !is_xml_id) {
        continue;
      }
      UniquePtr<xmlChar> raw(xmlNodeGetContent(reinterpret_cast<xmlNode*>(a)));
      std::string v = raw == nullptr ? "" : reinterpret_cast<char*>(raw.get());
      bool clash = is_id ? (!ids.emplace(v, n).second || xml_ids.count(v) > 0)
                         : (!xml_ids.insert(v).second || ids.count(v) > 0);
      if (clash && duplicate->empty()) {
        *duplicate = v;
      }
    }
  });
  return ids;
}

std::vector<xmlNode*> FindSignatures(xmlDoc* doc) {
  std::vector<xmlNode*> out;
  Walk(xmlDocGetRootElement(doc), [&](xmlNode* n) {
    if (IsElement(n, kDsigNs, "Signature")) {
      out.push_back(n);
    }
  });
  return out;
}

std::vector<UniquePtr<X509>> KeyInfoCertificates(xmlNode* sig, std::vector<std::string>* problems) {
  std::vector<UniquePtr<X509>> out;
  xmlNode* key_info = FirstChildElement(sig, kDsigNs, "KeyInfo");
  for (xmlNode* data : ChildElements(key_info)) {
    if (!IsElement(data, kDsigNs, "X509Data")) {
      continue;
    }
    for (xmlNode* c : ChildElements(data)) {
      if (!IsElement(c, kDsigNs, "X509Certificate")) {
        continue;
      }
      std::string der;
      absl::StatusOr<UniquePtr<X509>> cert =
          DecodeBase64Text(c, &der)
              ? ParseDerCertificate(der)
              : absl::StatusOr<UniquePtr<X509>>(absl::InvalidArgumentError("bad base64"));
      if (!cert.ok()) {
        if (problems != nullptr) {
          problems->push_back(absl::StrCat("KeyInfo holds an unreadable certificate: ",
                                           cert.status().message()));
        }
        continue;
      }
      out.push_back(std::move(*cert));
    }
  }
  return out;
}

}  // namespace axis::signer::internal
