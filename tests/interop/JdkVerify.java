// JdkVerify: an independent XML-DSig verifier (and RSA-PSS signer) built on
// the JDK's javax.xml.crypto.dsig, for interop tests against axis/xmlsec.
//
// Usage (JDK 11+ single-file source launch):
//   java tests/interop/JdkVerify.java FILE.xml
//       Verifies every ds:Signature in FILE.xml with secure validation on.
//       Prints one line per signature:
//         <Id or #n>: valid
//         <Id or #n>: INVALID (signature value ok=<bool>, references: <URI> ok, <URI> failed, ...)
//         <Id or #n>: ERROR (<message>)
//       Exit status: 0 when there is at least one signature and all are valid,
//       1 when some signature is invalid or there is none, 2 on errors.
//   java tests/interop/JdkVerify.java --sign-pss KEY.pem CERT.pem IN.xml OUT.xml
//       Adds an enveloped signature to IN's document element: URI="" with
//       enveloped + exclusive C14N transforms, SHA-256 digest,
//       SignatureMethod http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1,
//       KeyInfo/X509Data with CERT. KEY is an unencrypted PKCS#8 private key
//       ("BEGIN PRIVATE KEY" PEM or DER). Exit status 0 on success, 2 on errors.
//
// Key selection: the first X509Certificate of the first X509Data in KeyInfo
// (the signer's certificate comes first), otherwise the first KeyValue. No
// trust decision is made: this checks the cryptography only.
//
// Every attribute named Id (no namespace) is registered as an XML ID, which
// is what same-document references (URI="#sig-1", URI="#...-signedprops")
// resolve against. Documents with a DOCTYPE are refused.

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.crypto.AlgorithmMethod;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.KeySelectorException;
import javax.xml.crypto.KeySelectorResult;
import javax.xml.crypto.XMLCryptoContext;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.KeyValue;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Attr;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class JdkVerify {
  private static final String SECURE_VALIDATION = "org.jcp.xml.dsig.secureValidation";

  public static void main(String[] args) {
    // Without this the JDK wraps base64 at 76 columns with "&#13;\n".
    System.setProperty("com.sun.org.apache.xml.internal.security.ignoreLineBreaks", "true");
    try {
      if (args.length == 5 && args[0].equals("--sign-pss")) {
        signPss(args[1], args[2], args[3], args[4]);
        System.exit(0);
      }
      if (args.length != 1 || args[0].startsWith("--")) {
        System.err.println("usage: java JdkVerify.java FILE.xml");
        System.err.println("       java JdkVerify.java --sign-pss KEY.pem CERT.pem IN.xml OUT.xml");
        System.exit(2);
      }
      System.exit(verifyAll(args[0]));
    } catch (Exception e) {
      System.err.println("error: " + e);
      System.exit(2);
    }
  }

  // parse reads a file namespace-aware, refusing DTDs and external entities,
  // and registers every no-namespace Id attribute as an ID.
  static Document parse(String path) throws Exception {
    DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
    dbf.setNamespaceAware(true);
    dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    dbf.setFeature("http://xml.org/sax/features/external-general-entities", false);
    dbf.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
    dbf.setXIncludeAware(false);
    dbf.setExpandEntityReferences(false);
    DocumentBuilder db = dbf.newDocumentBuilder();
    // Report parse errors once, through the exception, not also on stderr.
    db.setErrorHandler(new org.xml.sax.helpers.DefaultHandler() {
      @Override
      public void fatalError(org.xml.sax.SAXParseException e) throws org.xml.sax.SAXException {
        throw e;
      }
    });
    Document doc;
    try (InputStream in = new FileInputStream(path)) {
      doc = db.parse(in);
    }
    registerIds(doc.getDocumentElement());
    return doc;
  }

  static void registerIds(Element root) {
    NodeList all = root.getOwnerDocument().getElementsByTagName("*");
    for (int i = 0; i < all.getLength(); i++) {
      Element e = (Element) all.item(i);
      Attr id = e.getAttributeNodeNS(null, "Id");
      if (id != null) {
        e.setIdAttributeNode(id, true);
      }
    }
  }

  // verifyAll returns the process exit status for FILE.
  static int verifyAll(String path) throws Exception {
    Document doc = parse(path);
    NodeList sigs = doc.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature");
    if (sigs.getLength() == 0) {
      System.out.println("no ds:Signature found");
      return 1;
    }
    XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
    // Snapshot the list: validation does not change the DOM, but be safe.
    List<Element> elements = new ArrayList<>();
    for (int i = 0; i < sigs.getLength(); i++) {
      elements.add((Element) sigs.item(i));
    }
    boolean allValid = true;
    boolean error = false;
    for (int i = 0; i < elements.size(); i++) {
      Element sigElement = elements.get(i);
      String label = sigElement.hasAttributeNS(null, "Id")
          ? sigElement.getAttributeNS(null, "Id") : "#" + (i + 1);
      try {
        DOMValidateContext ctx = new DOMValidateContext(new KeyInfoKeySelector(), sigElement);
        ctx.setProperty(SECURE_VALIDATION, Boolean.TRUE);
        XMLSignature signature = fac.unmarshalXMLSignature(ctx);
        if (signature.validate(ctx)) {
          System.out.println(label + ": valid");
          continue;
        }
        allValid = false;
        StringBuilder sb = new StringBuilder();
        sb.append(label).append(": INVALID (signature value ok=")
            .append(signature.getSignatureValue().validate(ctx)).append(", references:");
        String sep = " ";
        for (Object o : signature.getSignedInfo().getReferences()) {
          Reference ref = (Reference) o;
          String uri = ref.getURI() == null ? "(no URI)" : "\"" + ref.getURI() + "\"";
          boolean ok;
          try {
            ok = ref.validate(ctx);
          } catch (Exception e) {
            ok = false;
          }
          sb.append(sep).append(uri).append(ok ? " ok" : " failed");
          sep = ", ";
        }
        sb.append(")");
        System.out.println(sb);
      } catch (Exception e) {
        allValid = false;
        error = true;
        Throwable cause = e;
        StringBuilder msg = new StringBuilder(String.valueOf(e.getMessage()));
        while (cause.getCause() != null && cause.getCause() != cause) {
          cause = cause.getCause();
          msg.append(": ").append(cause.getMessage());
        }
        System.out.println(label + ": ERROR (" + e.getClass().getSimpleName() + ": " + msg + ")");
      }
    }
    if (error) {
      return 2;
    }
    return allValid ? 0 : 1;
  }

  // KeyInfoKeySelector returns the signer's key as carried in KeyInfo.
  static final class KeyInfoKeySelector extends KeySelector {
    @Override
    public KeySelectorResult select(KeyInfo keyInfo, KeySelector.Purpose purpose,
        AlgorithmMethod method, XMLCryptoContext context) throws KeySelectorException {
      if (keyInfo == null) {
        throw new KeySelectorException("no KeyInfo");
      }
      for (Object o : keyInfo.getContent()) {
        if (o instanceof X509Data) {
          for (Object c : ((X509Data) o).getContent()) {
            if (c instanceof X509Certificate) {
              PublicKey key = ((X509Certificate) c).getPublicKey();
              return () -> key;
            }
          }
        }
      }
      for (Object o : keyInfo.getContent()) {
        if (o instanceof KeyValue) {
          try {
            PublicKey key = ((KeyValue) o).getPublicKey();
            return () -> key;
          } catch (Exception e) {
            throw new KeySelectorException("bad KeyValue", e);
          }
        }
      }
      throw new KeySelectorException("KeyInfo has neither X509Certificate nor KeyValue");
    }
  }

  static byte[] pemOrDer(byte[] data, String type) {
    String text = new String(data, StandardCharsets.US_ASCII);
    String begin = "-----BEGIN " + type + "-----";
    int start = text.indexOf(begin);
    if (start < 0) {
      return data;
    }
    int end = text.indexOf("-----END " + type + "-----", start);
    String b64 = text.substring(start + begin.length(), end).replaceAll("\\s", "");
    return Base64.getDecoder().decode(b64);
  }

  static void signPss(String keyPath, String certPath, String in, String out) throws Exception {
    byte[] keyBytes = pemOrDer(Files.readAllBytes(new File(keyPath).toPath()), "PRIVATE KEY");
    PrivateKey key =
        KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(keyBytes));
    X509Certificate cert;
    byte[] certBytes = Files.readAllBytes(new File(certPath).toPath());
    try (InputStream cin = new ByteArrayInputStream(certBytes)) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(cin);
    }
    Document doc = parse(in);

    XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
    List<Transform> transforms = new ArrayList<>();
    transforms.add(fac.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null));
    transforms.add(
        fac.newTransform(CanonicalizationMethod.EXCLUSIVE, (TransformParameterSpec) null));
    Reference ref = fac.newReference("", fac.newDigestMethod(DigestMethod.SHA256, null), transforms,
        null, null);
    SignedInfo si = fac.newSignedInfo(
        fac.newCanonicalizationMethod(
            CanonicalizationMethod.EXCLUSIVE, (C14NMethodParameterSpec) null),
        fac.newSignatureMethod(SignatureMethod.SHA256_RSA_MGF1, null),
        Collections.singletonList(ref));
    KeyInfoFactory kif = fac.getKeyInfoFactory();
    KeyInfo ki = kif.newKeyInfo(Collections.singletonList(
        kif.newX509Data(Collections.singletonList(cert))));
    XMLSignature signature = fac.newXMLSignature(si, ki, null, "sig-jdk", null);
    DOMSignContext ctx = new DOMSignContext(key, doc.getDocumentElement());
    ctx.setDefaultNamespacePrefix("ds");
    signature.sign(ctx);

    javax.xml.transform.Transformer t = TransformerFactory.newInstance().newTransformer();
    t.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
    t.setOutputProperty(OutputKeys.INDENT, "no");
    t.transform(new DOMSource(doc), new StreamResult(new File(out)));
  }
}
