#!/usr/bin/env bash
# Self-check of the Axis test PKI (pki-testdata/).
#
# Usage: tests/pki/check_pki.sh [PKI_DIR]
#   PKI_DIR defaults to ../../pki-testdata relative to this script.
#
# Prints one line per check ("ok   <name>" / "FAIL <name>"), stops at the
# first failure (showing the evidence) and exits 1 naming it; exits 0 if
# every check passes. Needs only the openssl CLI (plus coreutils `timeout`
# for the live OCSP check, which binds an ephemeral port via -port 0).
set -uo pipefail

HERE="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
PKI="${1:-$HERE/../../pki-testdata}"
cd "$PKI" 2>/dev/null || { echo "FAIL pki-dir: cannot cd to $PKI"; exit 1; }
export LC_ALL=C.UTF-8

PW_FILE='p12-password.txt'
ROOTS=roots.pem
CHAIN=chain.pem
CRL=crl.pem
NCHECKS=0
TMPD="$(mktemp -d)"
cleanup() {
    rm -rf "$TMPD"
}
trap cleanup EXIT

# check <name> <command...> : the command must succeed; its output is shown on failure.
check() {
    local name=$1 out
    shift
    NCHECKS=$((NCHECKS + 1))
    if out=$("$@" 2>&1); then
        echo "ok   $name"
    else
        echo "FAIL $name"
        printf '%s\n' "$out" | sed 's/^/     | /'
        echo "check_pki: FAILED at check '$name' ($PWD)"
        exit 1
    fi
}

die() { echo "$*"; return 1; }

# ------------------------------------------------------------------ predicates
# verify_ok <cert> <purpose> [extra verify args]
verify_ok() {
    local cert=$1 purpose=$2 out
    shift 2
    out=$(openssl verify -x509_strict -CAfile "$ROOTS" -untrusted "$CHAIN" \
          -purpose "$purpose" "$@" "$cert" 2>&1) || die "$out"
    [ "$out" = "$cert: OK" ] || die "unexpected output: $out"
}

# verify_fails_with <cert> <expected openssl error text> [extra verify args]
# Fails unless verification fails AND every reported error is the expected one.
verify_fails_with() {
    local cert=$1 want=$2 out errs
    shift 2
    if out=$(openssl verify -CAfile "$ROOTS" -untrusted "$CHAIN" "$@" "$cert" 2>&1); then
        die "verification unexpectedly succeeded: $out"
    fi
    errs=$(printf '%s\n' "$out" | sed -n 's/^error [0-9]* at [0-9]* depth lookup: //p' | sort -u)
    [ -n "$errs" ] || die "no openssl error line found: $out"
    [ "$errs" = "$want" ] || die "expected only '$want', got: $errs"
}

# ext_has <cert> <extension name> <fixed string>...: `x509 -ext` output contains each string
ext_has() {
    local cert=$1 ext=$2 out s
    shift 2
    out=$(openssl x509 -in "$cert" -noout -ext "$ext" 2>&1) || die "$out"
    for s in "$@"; do
        printf '%s\n' "$out" | grep -qF -- "$s" || die "'$s' not in: $out"
    done
}

# ext_exact <cert> <extension name> <header line> <value line>
ext_exact() {
    local cert=$1 ext=$2 want
    want=$(printf '%s\n    %s' "$3" "$4")
    local out
    out=$(openssl x509 -in "$cert" -noout -ext "$ext" 2>&1) || die "$out"
    out=$(printf '%s\n' "$out" | sed 's/[[:space:]]*$//')
    [ "$out" = "$want" ] || die "expected: $want
got:      $out"
}

# ext_lacks <cert> <extension name> <fixed string>...
ext_lacks() {
    local cert=$1 ext=$2 out s
    shift 2
    out=$(openssl x509 -in "$cert" -noout -ext "$ext" 2>&1)
    for s in "$@"; do
        if printf '%s\n' "$out" | grep -qF -- "$s"; then die "'$s' unexpectedly in: $out"; fi
    done
}

# keytype <cert> rsa:<bits>|ec:<curve NIST name>
keytype() {
    local cert=$1 spec=$2 txt
    txt=$(openssl x509 -in "$cert" -noout -text 2>&1) || die "$txt"
    case $spec in
        rsa:*) printf '%s\n' "$txt" | grep -q 'Public Key Algorithm: rsaEncryption' || die "not RSA"
               printf '%s\n' "$txt" | grep -qF "Public-Key: (${spec#rsa:} bit)" \
                   || die "not ${spec#rsa:} bit: $(printf '%s\n' "$txt" | grep 'Public-Key')" ;;
        ec:*)  printf '%s\n' "$txt" | grep -q 'Public Key Algorithm: id-ecPublicKey' || die "not EC"
               printf '%s\n' "$txt" | grep -qE "NIST CURVE: ${spec#ec:}\$" \
                   || die "not ${spec#ec:}: $(printf '%s\n' "$txt" | grep -E 'CURVE|OID')" ;;
    esac
}

# key_matches <key> <cert> [passin]: the unencrypted PKCS#8 key belongs to the cert
key_matches() {
    local key=$1 cert=$2 a b
    if [ $# -ge 3 ]; then
        a=$(openssl pkey -in "$key" -passin "$3" -pubout 2>&1) || die "$a"
    else
        head -1 "$key" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || die "$key is not unencrypted PKCS#8 PEM"
        a=$(openssl pkey -in "$key" -passin pass: -pubout 2>&1) || die "$a"
    fi
    b=$(openssl x509 -in "$cert" -noout -pubkey 2>&1) || die "$b"
    [ "$a" = "$b" ] || die "public keys differ"
}

# validity <cert> <notBefore> <notAfter>  (openssl's text form)
validity() {
    local out
    out=$(openssl x509 -in "$1" -noout -startdate -enddate 2>&1) || die "$out"
    [ "$out" = "notBefore=$2
notAfter=$3" ] || die "got: $out"
}

subject_has() {
    local cert=$1 out s
    shift
    out=$(openssl x509 -in "$cert" -noout -subject -nameopt utf8,sep_comma_plus_space,-esc_msb 2>&1) || die "$out"
    for s in "$@"; do
        printf '%s\n' "$out" | grep -qF -- "$s" || die "'$s' not in: $out"
    done
}

issuer_is() {
    local out
    out=$(openssl x509 -in "$1" -noout -issuer -nameopt utf8,sep_comma_plus_space,-esc_msb 2>&1) || die "$out"
    printf '%s\n' "$out" | grep -qF -- "CN=$2" || die "issuer: $out"
}

count_certs() { # <file> <n>
    local n
    n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$1") || true
    [ "$n" = "$2" ] || die "$1 holds $n certificates, expected $2"
}

same_cert() { # <a> <b> [index in a, 1-based]
    local fa fb
    fa=$(openssl x509 -in "$1" -noout -fingerprint -sha256 2>&1) || die "$fa"
    fb=$(openssl x509 -in "$2" -noout -fingerprint -sha256 2>&1) || die "$fb"
    [ "$fa" = "$fb" ] || die "$1 != $2"
}

bundle_is() { # <bundle> <cert>... : bundle holds exactly these certs in this order
    local bundle=$1 i=0 f
    shift
    count_certs "$bundle" $# || return 1
    awk -v d="$TMPD/bundle" '/BEGIN CERT/{n++} {print > (d "." n ".pem")}' "$bundle"
    for f in "$@"; do
        i=$((i + 1))
        same_cert "$TMPD/bundle.$i.pem" "$f" || die "cert #$i of $bundle is not $f"
    done
}

p12_ok() { # <p12> <cert> <key>
    local p12=$1 cert=$2 key=$3 out
    out=$(openssl pkcs12 -in "$p12" -passin "file:$PW_FILE" -nodes 2>&1) || die "$out"
    printf '%s\n' "$out" >"$TMPD/p12.pem"
    count_certs "$TMPD/p12.pem" 3 || return 1
    openssl pkey -in "$TMPD/p12.pem" -pubout >"$TMPD/p12.pub" 2>&1 || die "no key in p12"
    openssl pkey -in "$key" -pubout | cmp -s - "$TMPD/p12.pub" || die "p12 key != $key"
    openssl x509 -in "$TMPD/p12.pem" -noout -fingerprint -sha256 >"$TMPD/p12.fp" 2>&1
    # the first cert in the output is the one with the local key id = leader cert
    openssl x509 -in "$cert" -noout -fingerprint -sha256 | cmp -s - "$TMPD/p12.fp" \
        || die "first p12 cert is not $cert"
    for f in chain.pem roots.pem; do
        grep -qF "$(sed -n 2p "$f")" "$TMPD/p12.pem" || die "p12 lacks $f"
    done
    if openssl pkcs12 -in "$p12" -passin pass:definitely-wrong -nokeys -noout >/dev/null 2>&1; then
        die "p12 opens with a wrong password"
    fi
}

crl_ok() {
    local out
    out=$(openssl crl -in "$CRL" -CAfile ca-bundle.pem -noout 2>&1) || die "$out"
    [ "$out" = "verify OK" ] || die "$out"
    out=$(openssl crl -in "$CRL" -noout -text 2>&1) || die "$out"
    printf '%s\n' "$out" | grep -qF "Issuer: C = VN" || die "$out"
    printf '%s\n' "$out" | grep -qF "CN = Axis Test Issuing CA G1" || die "issuer: $out"
    printf '%s\n' "$out" | grep -qF "Next Update: Dec 31 23:59:59 2055 GMT" || die "nextUpdate: $out"
}

crl_lists_revoked() {
    local serial out
    serial=$(openssl x509 -in negative/revoked-leader.cert.pem -noout -serial | cut -d= -f2)
    out=$(openssl crl -in "$CRL" -noout -text 2>&1) || die "$out"
    printf '%s\n' "$out" | grep -A4 -F "Serial Number: $serial" >"$TMPD/crlentry" || die "serial $serial not in CRL"
    grep -qF 'Revocation Date: Jan  1 00:00:00 2026 GMT' "$TMPD/crlentry" || die "$(cat "$TMPD/crlentry")"
    grep -qF 'Key Compromise' "$TMPD/crlentry" || die "$(cat "$TMPD/crlentry")"
    [ "$(grep -c 'Serial Number:' <<<"$out")" = 1 ] || die "CRL should list exactly one certificate"
}

index_ok() {
    local serial
    serial=$(openssl x509 -in negative/revoked-leader.cert.pem -noout -serial | cut -d= -f2)
    [ -f issuing-ca/index.txt.attr ] && [ -f issuing-ca/serial ] || die "issuing-ca db files missing"
    awk -F'\t' -v s="$serial" '$4 == s && $1 == "R" && $3 == "260101000000Z,keyCompromise" {f=1} END {exit !f}' \
        issuing-ca/index.txt || die "no R entry for $serial: $(grep -F "$serial" issuing-ca/index.txt)"
    local f
    for f in agencies/*/*.cert.pem central/*.cert.pem tsa/tsa.cert.pem ocsp/ocsp.cert.pem; do
        serial=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2)
        awk -F'\t' -v s="$serial" '$4 == s && $1 == "V" {f=1} END {exit !f}' issuing-ca/index.txt \
            || die "$f (serial $serial) not valid in index.txt"
    done
}

enc_key_ok() {
    local k=agencies/vpcp/leader.enc.key.pem
    head -1 "$k" | grep -qx -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' || die "not encrypted PKCS#8"
    openssl asn1parse -in "$k" 2>&1 | grep -q ':aes-256-cbc' || die "not AES-256-CBC"
    key_matches "$k" agencies/vpcp/leader.cert.pem "file:$PW_FILE" || return 1
    if openssl pkey -in "$k" -passin pass:definitely-wrong -noout >/dev/null 2>&1; then
        die "opens with a wrong passphrase"
    fi
}

ocsp_status() {
    # The real `openssl ocsp` responder answers a request read from a file:
    # OpenSSL 3.0's -port listens on every interface, and a test server may
    # only listen on 127.0.0.1, so the HTTP leg is left out here.
    local cert=$1 out
    rm -f "$TMPD/req.der" "$TMPD/resp.der"
    openssl ocsp -issuer chain.pem -cert "$cert" -no_nonce -reqout "$TMPD/req.der" >/dev/null 2>&1 ||
        die "cannot build an OCSP request for $cert"
    out=$(openssl ocsp -index issuing-ca/index.txt -CA chain.pem -rsigner ocsp/ocsp.cert.pem \
          -rkey ocsp/ocsp.key.pem -reqin "$TMPD/req.der" -respout "$TMPD/resp.der" 2>&1) || die "$out"
    openssl ocsp -respin "$TMPD/resp.der" -issuer chain.pem -cert "$cert" -CAfile ca-bundle.pem 2>&1
}

ocsp_responder() {
    local out
    out=$(ocsp_status agencies/vpcp/leader.cert.pem) || die "$out"
    printf '%s\n' "$out" | grep -qx 'agencies/vpcp/leader.cert.pem: good' || die "$out"
    printf '%s\n' "$out" | grep -qx 'Response verify OK' || die "$out"
    out=$(ocsp_status negative/revoked-leader.cert.pem) || die "$out"
    printf '%s\n' "$out" | grep -qx 'negative/revoked-leader.cert.pem: revoked' || die "$out"
    printf '%s\n' "$out" | grep -qF 'Reason: keyCompromise' || die "$out"
    printf '%s\n' "$out" | grep -qF 'Revocation Time: Jan  1 00:00:00 2026 GMT' || die "$out"
}

# ------------------------------------------------------------------ checks
EE_NB='Jan  1 00:00:00 2025 GMT'
EE_NA='Dec 31 23:59:59 2049 GMT'
CA_NA='Dec 31 23:59:59 2055 GMT'
OCSP_URL='OCSP - URI:http://127.0.0.1:8888/'

check "password file says axis-test" test "$(head -1 "$PW_FILE")" = axis-test

# CAs and bundles
check "root: self-signed, verifies"      verify_ok root-ca/root-ca.cert.pem any
check "root: RSA 3072"                   keytype root-ca/root-ca.cert.pem rsa:3072
check "root: validity 2025..2055"        validity root-ca/root-ca.cert.pem "$EE_NB" "$CA_NA"
check "root: CA:TRUE, keyCertSign+cRLSign" ext_has root-ca/root-ca.cert.pem basicConstraints,keyUsage \
    'CA:TRUE' 'Certificate Sign, CRL Sign'
check "root: key matches"                key_matches root-ca/root-ca.key.pem root-ca/root-ca.cert.pem
check "issuing-ca: chains to root"       verify_ok issuing-ca/issuing-ca.cert.pem any
check "issuing-ca: RSA 3072"             keytype issuing-ca/issuing-ca.cert.pem rsa:3072
check "issuing-ca: validity 2025..2055"  validity issuing-ca/issuing-ca.cert.pem "$EE_NB" "$CA_NA"
check "issuing-ca: CA:TRUE pathlen:0"    ext_has issuing-ca/issuing-ca.cert.pem basicConstraints 'CA:TRUE, pathlen:0'
check "issuing-ca: key matches"          key_matches issuing-ca/issuing-ca.key.pem issuing-ca/issuing-ca.cert.pem
check "roots.pem = root only"            bundle_is roots.pem root-ca/root-ca.cert.pem
check "chain.pem = issuing CA only"      bundle_is chain.pem issuing-ca/issuing-ca.cert.pem
check "ca-bundle.pem = issuing + root"   bundle_is ca-bundle.pem issuing-ca/issuing-ca.cert.pem root-ca/root-ca.cert.pem
check "crl.pem: signed by issuing CA, nextUpdate 2055" crl_ok
check "crl.pem: lists revoked-leader (2026-01-01, keyCompromise) only" crl_lists_revoked
check "issuing-ca/index.txt: revoked R entry + positives V" index_ok

# Agencies
agency_checks() { # <dir> <code> <O> <leader key> <seal key>
    local a=agencies/$1 code=$2 org=$3 lk=$4 sk=$5 n
    check "$1 leader: verifies (smimesign, CRL)" verify_ok "$a/leader.cert.pem" smimesign -crl_check -CRLfile "$CRL"
    check "$1 leader: $lk"                       keytype "$a/leader.cert.pem" "$lk"
    check "$1 leader: keyUsage critical digitalSignature,nonRepudiation" \
        ext_exact "$a/leader.cert.pem" keyUsage 'X509v3 Key Usage: critical' 'Digital Signature, Non Repudiation'
    check "$1 leader: no extendedKeyUsage"       ext_lacks "$a/leader.cert.pem" extendedKeyUsage 'Extended Key Usage'
    check "$1 leader: subject O/OU(code)"        subject_has "$a/leader.cert.pem" "O=$org" "OU=$code" 'C=VN' 'title='
    check "$1 leader.p12: opens with documented password, key+chain" \
        p12_ok "$a/leader.p12" "$a/leader.cert.pem" "$a/leader.key.pem"
    check "$1 seal: verifies (smimesign, CRL)"   verify_ok "$a/seal.cert.pem" smimesign -crl_check -CRLfile "$CRL"
    check "$1 seal: $sk"                         keytype "$a/seal.cert.pem" "$sk"
    check "$1 seal: keyUsage critical digitalSignature,nonRepudiation" \
        ext_exact "$a/seal.cert.pem" keyUsage 'X509v3 Key Usage: critical' 'Digital Signature, Non Repudiation'
    check "$1 seal: CN = agency name"            subject_has "$a/seal.cert.pem" "O=$org" "OU=$code" "CN=$org"
    check "$1 server: verifies (sslserver)"      verify_ok "$a/server.cert.pem" sslserver -crl_check -CRLfile "$CRL"
    check "$1 server: verifies (sslclient)"      verify_ok "$a/server.cert.pem" sslclient
    check "$1 server: P-256"                     keytype "$a/server.cert.pem" ec:P-256
    check "$1 server: keyUsage digitalSignature,keyEncipherment" \
        ext_exact "$a/server.cert.pem" keyUsage 'X509v3 Key Usage: critical' 'Digital Signature, Key Encipherment'
    check "$1 server: EKU serverAuth+clientAuth" \
        ext_exact "$a/server.cert.pem" extendedKeyUsage 'X509v3 Extended Key Usage:' \
        'TLS Web Server Authentication, TLS Web Client Authentication'
    check "$1 server: SAN IP:127.0.0.1 DNS:localhost" \
        ext_has "$a/server.cert.pem" subjectAltName 'IP Address:127.0.0.1' 'DNS:localhost'
    check "$1 server: subject O/OU(code)"        subject_has "$a/server.cert.pem" "O=$org" "OU=$code"
    check "$1 dms: verifies (sslclient)"         verify_ok "$a/dms.cert.pem" sslclient -crl_check -CRLfile "$CRL"
    check "$1 dms: P-256"                        keytype "$a/dms.cert.pem" ec:P-256
    check "$1 dms: EKU clientAuth only" \
        ext_exact "$a/dms.cert.pem" extendedKeyUsage 'X509v3 Extended Key Usage:' 'TLS Web Client Authentication'
    check "$1 dms: subject O/OU(code)"           subject_has "$a/dms.cert.pem" "O=$org" "OU=$code"
    for n in leader seal server dms; do
        check "$1 $n: key matches, unencrypted PKCS#8" key_matches "$a/$n.key.pem" "$a/$n.cert.pem"
        check "$1 $n: validity 2025..2049"       validity "$a/$n.cert.pem" "$EE_NB" "$EE_NA"
        check "$1 $n: issued by Axis Test Issuing CA G1" issuer_is "$a/$n.cert.pem" 'Axis Test Issuing CA G1'
        check "$1 $n: AIA OCSP $OCSP_URL"        ext_has "$a/$n.cert.pem" authorityInfoAccess "$OCSP_URL"
    done
}
agency_checks vpcp      000.00.00.G22 'Văn phòng Chính phủ'          rsa:2048 rsa:2048
agency_checks mic       000.00.00.G12 'Bộ Thông tin và Truyền thông' ec:P-256 ec:P-256
agency_checks quangninh 000.00.00.H49 'UBND tỉnh Quảng Ninh'         ec:P-384 rsa:2048
check "vpcp leader.enc.key.pem: AES-256 PKCS#8, opens with documented password" enc_key_ok

# Central server
check "central config-signing: verifies"     verify_ok central/config-signing.cert.pem smimesign -crl_check -CRLfile "$CRL"
check "central config-signing: keyUsage digitalSignature" \
    ext_exact central/config-signing.cert.pem keyUsage 'X509v3 Key Usage: critical' 'Digital Signature'
check "central config-signing: RSA 2048"     keytype central/config-signing.cert.pem rsa:2048
check "central admin: verifies (sslclient)"  verify_ok central/admin.cert.pem sslclient -crl_check -CRLfile "$CRL"
check "central admin: EKU clientAuth only" \
    ext_exact central/admin.cert.pem extendedKeyUsage 'X509v3 Extended Key Usage:' 'TLS Web Client Authentication'
check "central admin: P-256"                 keytype central/admin.cert.pem ec:P-256
check "central server: verifies (sslserver)" verify_ok central/server.cert.pem sslserver -crl_check -CRLfile "$CRL"
check "central server: verifies (sslclient)" verify_ok central/server.cert.pem sslclient
check "central server: EKU serverAuth+clientAuth" \
    ext_exact central/server.cert.pem extendedKeyUsage 'X509v3 Extended Key Usage:' \
    'TLS Web Server Authentication, TLS Web Client Authentication'
check "central server: SAN IP:127.0.0.1 DNS:localhost" \
    ext_has central/server.cert.pem subjectAltName 'IP Address:127.0.0.1' 'DNS:localhost'
check "central server: P-256"                keytype central/server.cert.pem ec:P-256

# TSA, OCSP
check "tsa: verifies (timestampsign)"        verify_ok tsa/tsa.cert.pem timestampsign -crl_check -CRLfile "$CRL"
check "tsa: extendedKeyUsage critical timeStamping only" \
    ext_exact tsa/tsa.cert.pem extendedKeyUsage 'X509v3 Extended Key Usage: critical' 'Time Stamping'
check "tsa: keyUsage critical digitalSignature" \
    ext_exact tsa/tsa.cert.pem keyUsage 'X509v3 Key Usage: critical' 'Digital Signature'
check "tsa: RSA 2048"                        keytype tsa/tsa.cert.pem rsa:2048
check "ocsp: verifies (ocsphelper)"          verify_ok ocsp/ocsp.cert.pem ocsphelper
check "ocsp: extendedKeyUsage OCSPSigning" \
    ext_exact ocsp/ocsp.cert.pem extendedKeyUsage 'X509v3 Extended Key Usage:' 'OCSP Signing'
check "ocsp: id-pkix-ocsp-nocheck"           ext_has ocsp/ocsp.cert.pem noCheck 'OCSP No Check'
check "ocsp: issued by Axis Test Issuing CA G1" issuer_is ocsp/ocsp.cert.pem 'Axis Test Issuing CA G1'
check "ocsp: RSA 2048"                       keytype ocsp/ocsp.cert.pem rsa:2048
for n in central/config-signing central/admin central/server tsa/tsa ocsp/ocsp; do
    check "$n: key matches, unencrypted PKCS#8" key_matches "$n.key.pem" "$n.cert.pem"
    check "$n: validity 2025..2049"             validity "$n.cert.pem" "$EE_NB" "$EE_NA"
done

# Negative material: each fails for exactly its intended reason and is otherwise valid.
N=negative
check "revoked-leader: fails 'certificate revoked' with CRL" \
    verify_fails_with $N/revoked-leader.cert.pem 'certificate revoked' -purpose smimesign -crl_check -CRLfile "$CRL"
check "revoked-leader: otherwise valid (no CRL check)" verify_ok $N/revoked-leader.cert.pem smimesign
check "expired-leader: fails 'certificate has expired' (only error)" \
    verify_fails_with $N/expired-leader.cert.pem 'certificate has expired' -purpose smimesign
check "expired-leader: validity 2020-01-01..2021-01-01" \
    validity $N/expired-leader.cert.pem 'Jan  1 00:00:00 2020 GMT' 'Jan  1 00:00:00 2021 GMT'
check "expired-leader: otherwise valid (-no_check_time)" verify_ok $N/expired-leader.cert.pem smimesign -no_check_time
check "notyet-leader: fails 'certificate is not yet valid' (only error)" \
    verify_fails_with $N/notyet-leader.cert.pem 'certificate is not yet valid' -purpose smimesign
check "notyet-leader: valid from 2090" \
    validity $N/notyet-leader.cert.pem 'Jan  1 00:00:00 2090 GMT' 'Dec 31 23:59:59 2095 GMT'
check "notyet-leader: otherwise valid (-no_check_time)" verify_ok $N/notyet-leader.cert.pem smimesign -no_check_time
check "wrong-usage-leader: fails 'unsuitable certificate purpose' (smimesign)" \
    verify_fails_with $N/wrong-usage-leader.cert.pem 'unsuitable certificate purpose' -purpose smimesign
check "wrong-usage-leader: keyUsage keyEncipherment only" \
    ext_exact $N/wrong-usage-leader.cert.pem keyUsage 'X509v3 Key Usage: critical' 'Key Encipherment'
check "wrong-usage-leader: otherwise valid (purpose any)" verify_ok $N/wrong-usage-leader.cert.pem any
check "untrusted-leader: fails 'unable to get local issuer certificate'" \
    verify_fails_with $N/untrusted-leader.cert.pem 'unable to get local issuer certificate' -purpose smimesign
check "untrusted-leader: verifies against untrusted-root" \
    sh -c "openssl verify -x509_strict -CAfile $N/untrusted-root.cert.pem -purpose smimesign $N/untrusted-leader.cert.pem | grep -qx '$N/untrusted-leader.cert.pem: OK'"
check "untrusted-root: is not our root"      sh -c "! cmp -s $N/untrusted-root.cert.pem roots.pem"
check "rsa1024-leader: RSA 1024 key"         keytype $N/rsa1024-leader.cert.pem rsa:1024
check "rsa1024-leader: fails 'EE certificate key too weak' at -auth_level 2" \
    verify_fails_with $N/rsa1024-leader.cert.pem 'EE certificate key too weak' -purpose smimesign -auth_level 2
check "rsa1024-leader: otherwise valid"      verify_ok $N/rsa1024-leader.cert.pem smimesign -crl_check -CRLfile "$CRL"
for n in revoked-leader expired-leader notyet-leader wrong-usage-leader untrusted-leader rsa1024-leader untrusted-root; do
    check "$n: key matches, unencrypted PKCS#8" key_matches "$N/$n.key.pem" "$N/$n.cert.pem"
done

# The openssl ocsp responder over the CA index: good and revoked answers.
check "ocsp responder: vpcp leader good, revoked-leader revoked (keyCompromise)" ocsp_responder

echo "check_pki: all $NCHECKS checks passed ($PWD)"
