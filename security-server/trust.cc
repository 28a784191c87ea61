// trust.cc: ConfHolder, OcspCache, envelopes and receipts.
#include "security-server/trust.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "central-server/conf_client.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "security-server/message_log.h"
#include "security-server/store.h"
#include "signer/bytes_sign.h"
#include "signer/ocsp.h"

namespace axis::ss {
namespace {

// OrgUnit returns the subject's first OU, or "".
std::string OrgUnit(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
  if (i < 0) {
    return "";
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

// CachedDerCertificate parses a DER certificate, reusing an earlier parse
// of the same bytes: every envelope and receipt of a member carries the same
// chain, and decoding certificates (their public keys, through OpenSSL 3's
// decoders) was ~20 % of both servers' CPU under load.
// The cache holds at most kMaxCachedCerts entries (cleared when full).
absl::StatusOr<UniquePtr<X509>> CachedDerCertificate(const std::string& der) {
  constexpr size_t kMaxCachedCerts = 512;
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new std::map<std::string, UniquePtr<X509>>();
  {
    absl::MutexLock l(&mu);
    auto it = cache->find(der);
    if (it != cache->end()) {
      X509_up_ref(it->second.get());
      return UniquePtr<X509>(it->second.get());
    }
  }
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> c, signer::ParseDerCertificate(der));
  X509_up_ref(c.get());
  UniquePtr<X509> shared(c.get());
  absl::MutexLock l(&mu);
  if (cache->size() >= kMaxCachedCerts) {
    cache->clear();
  }
  cache->emplace(der, std::move(shared));
  return c;
}

struct ParsedChain {
  std::vector<UniquePtr<X509>> certs;
  std::vector<X509*> untrusted;
};

absl::StatusOr<ParsedChain> ParseChain(const google::protobuf::RepeatedPtrField<std::string>& ders,
                                       absl::string_view what) {
  if (ders.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no certificate chain"));
  }
  ParsedChain out;
  for (const std::string& der : ders) {
    absl::StatusOr<UniquePtr<X509>> c = CachedDerCertificate(der);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": bad certificate: ", c.status().message()));
    }
    out.certs.push_back(std::move(*c));
  }
  for (size_t i = 1; i < out.certs.size(); ++i) {
    out.untrusted.push_back(out.certs[i].get());
  }
  return out;
}

// CheckMember checks the signing certificate is a seal of `member`.
absl::Status CheckMember(X509* leaf, const Identifier& member, absl::string_view what) {
  std::string ou = OrgUnit(leaf);
  if (ou != member.member_code()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": signing certificate belongs to '", ou,
                                                   "', not to ", FormatIdentifier(member)));
  }
  return absl::OkStatus();
}

// CheckSigner validates `leaf` against the conf's trust store at `now` and
// checks it is a seal of `member`.
absl::Status CheckSigner(X509* leaf, const std::vector<X509*>& untrusted, const ConfView& conf,
                         const Identifier& member, absl::Time now, absl::string_view what,
                         signer::ChainResult* result) {
  *result = signer::ValidateChain(leaf, untrusted, conf.trust, now, /*check_crls=*/false);
  if (!result->valid) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": signing certificate chain invalid: ", result->error));
  }
  AXIS_RETURN_IF_ERROR(CheckMember(leaf, member, what));
  std::string usage = signer::DocumentSigningUsageProblem(leaf);
  if (!usage.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": signing certificate: ", usage));
  }
  return absl::OkStatus();
}

// MemoKey identifies a chain (and the OCSP response judged with it).
std::string MemoKey(const google::protobuf::RepeatedPtrField<std::string>& ders,
                    absl::string_view ocsp) {
  std::string all;
  for (const std::string& d : ders) {
    absl::StrAppend(&all, d.size(), ":", d);
  }
  absl::StrAppend(&all, "|", ocsp.size(), ":", ocsp);
  return signer::Sha256(all);
}

// How long a validated chain is believed without validating it again.
constexpr absl::Duration kMemoTtl = absl::Seconds(60);

}  // namespace

// ---------------------------------------------------------------------------
// ConfView

const axis::SecurityServer* ConfView::ServerByCert(const std::string& sha256_hex) const {
  auto it = server_by_cert_hex.find(sha256_hex);
  return it == server_by_cert_hex.end() ? nullptr : it->second;
}

const axis::SecurityServer* ConfView::ServerOf(const Identifier& member) const {
  Identifier m = MemberOf(member);
  for (const axis::SecurityServer& s : conf().security_servers()) {
    if (SameIdentifier(MemberOf(s.owner()), m)) {
      return &s;
    }
  }
  return nullptr;
}

bool ConfView::HasSubsystem(const Identifier& id) const {
  for (const Subsystem& s : conf().subsystems()) {
    if (SameIdentifier(s.id(), id)) {
      return true;
    }
  }
  return false;
}

bool ConfView::HasMember(const Identifier& id) const {
  Identifier m = MemberOf(id);
  for (const Member& s : conf().members()) {
    if (SameIdentifier(s.id(), m)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> ConfView::AgencyCodesOf(const Identifier& id) const {
  Identifier m = MemberOf(id);
  std::vector<std::string> out = {m.member_code()};
  for (const Member& s : conf().members()) {
    if (SameIdentifier(s.id(), m)) {
      out.insert(out.end(), s.other_codes().begin(), s.other_codes().end());
      break;
    }
  }
  return out;
}

bool ConfView::RecentlyValid(const std::string& key, absl::Time now) const {
  absl::MutexLock l(&memo_mu);
  auto it = memo.find(key);
  return it != memo.end() && now < it->second;
}

void ConfView::RememberValid(const std::string& key, absl::Time until) const {
  absl::MutexLock l(&memo_mu);
  if (memo.size() > 10000) {
    memo.clear();
  }
  memo[key] = until;
}

std::string ConfView::OcspUrlFor(X509* issuer) const {
  std::string der = signer::CertificateDer(issuer);
  for (const TrustedCa& ca : conf().cas()) {
    if (ca.cert_der() == der && !ca.ocsp_urls().empty()) {
      return ca.ocsp_urls(0);
    }
  }
  return "";
}

absl::StatusOr<std::shared_ptr<const ConfView>> BuildConfView(
    std::shared_ptr<const central::VerifiedConf> verified) {
  auto view = std::make_shared<ConfView>();
  view->verified = std::move(verified);
  for (const TrustedCa& ca : view->conf().cas()) {
    absl::StatusOr<UniquePtr<X509>> cert = signer::ParseDerCertificate(ca.cert_der());
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("global configuration: CA '", ca.name(), "': ", cert.status().message()));
    }
    if (!ca.crl_der().empty()) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(ca.crl_der().data());
      UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(ca.crl_der().size())));
      if (crl == nullptr ||
          p != reinterpret_cast<const unsigned char*>(ca.crl_der().data()) + ca.crl_der().size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("global configuration: CA '", ca.name(), "': CRL does not parse"));
      }
      view->trust.AddCrl(std::move(crl));
    }
    if (ca.is_root()) {
      view->trust.AddRoot(std::move(*cert));
    } else {
      view->trust.AddIntermediate(std::move(*cert));
    }
  }
  for (const axis::SecurityServer& s : view->conf().security_servers()) {
    for (const std::string& h : s.auth_cert_sha256()) {
      view->server_by_cert_hex[HexOf(h)] = &s;
    }
  }
  return std::shared_ptr<const ConfView>(std::move(view));
}

// ---------------------------------------------------------------------------
// ConfHolder

absl::StatusOr<std::unique_ptr<ConfHolder>> ConfHolder::Create(Options options) {
  if (options.bootstrap_file.empty() &&
      (options.anchor.central_address().empty() || options.anchor.central_tls_ca_der().empty())) {
    return absl::InvalidArgumentError(
        "anchor_path: without global_conf_file the configuration comes from the central server, "
        "but the anchor has no central_address or central_tls_ca_der (export it with `axis "
        "central anchor`)");
  }
  std::unique_ptr<ConfHolder> h(new ConfHolder(std::move(options)));
  if (!h->options_.cache_path.empty()) {
    absl::StatusOr<ConfAnchor> signers = central::ReadAnchor(h->options_.cache_path + ".signers");
    if (signers.ok() && signers->instance() == h->options_.anchor.instance()) {
      absl::MutexLock l(&h->mu_);
      central::AddAnchorSigners(signers->signing_certs_der(), &h->anchor_);
    }
    absl::StatusOr<SignedGlobalConf> cached = central::ReadSignedConf(h->options_.cache_path);
    if (cached.ok()) {
      // Verified as of its signing: an expired cache is still the last good
      // configuration (it says why we stopped, and no older version may
      // replace it).
      absl::Time at = absl::Now();
      ValidityStatement statement;
      if (statement.ParseFromString(cached->statement())) {
        at = absl::FromUnixSeconds(statement.signed_at().seconds());
      }
      absl::Status s = h->Install(*cached, /*write_cache=*/false, at);
      if (!s.ok()) {
        std::fprintf(stderr, "conf: ignoring cached configuration %s: %s\n",
                     h->options_.cache_path.c_str(), std::string(s.message()).c_str());
      }
    }
  }
  absl::Status s = h->PollOnce();
  if (!s.ok()) {
    std::fprintf(stderr, "conf: %s\n", std::string(s.message()).c_str());
  }
  return h;
}

ConfAnchor ConfHolder::Anchor() const {
  absl::MutexLock l(&mu_);
  return anchor_;
}

ConfHolder::~ConfHolder() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ConfHolder::Start() {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.period)) {
      absl::Status s = PollOnce();
      if (!s.ok()) {
        std::fprintf(stderr, "conf: poll: %s\n", std::string(s.message()).c_str());
      }
    }
  });
}

absl::Status ConfHolder::PollOnce() {
  absl::StatusOr<SignedGlobalConf> sc;
  if (options_.bootstrap_file.empty()) {
    // Online: ask the central server named by the anchor.
    std::shared_ptr<const ConfView> cur = Current();
    sc = central::FetchGlobalConf(Anchor(), cur == nullptr ? 0 : cur->version(),
                                  options_.fetch_deadline);
  } else {
    sc = central::ReadSignedConf(options_.bootstrap_file);
  }
  if (!sc.ok()) {
    return sc.status();
  }
  {
    absl::MutexLock l(&mu_);
    if (sc->SerializeAsString() == current_bytes_) {
      return absl::OkStatus();
    }
  }
  return Install(*sc, /*write_cache=*/true, absl::Now());
}

absl::Status ConfHolder::Install(const SignedGlobalConf& signed_conf, bool write_cache,
                                 absl::Time at) {
  std::shared_ptr<const ConfView> prev = Current();
  ConfAnchor anchor = Anchor();
  AXIS_ASSIGN_OR_RETURN(
      central::VerifiedConf v,
      central::VerifySignedConf(signed_conf, anchor,
                                prev == nullptr ? nullptr : prev->verified.get(), at));
  bool new_signers = central::AddAnchorSigners(v.conf.signing_certs_der(), &anchor);
  AXIS_ASSIGN_OR_RETURN(std::shared_ptr<const ConfView> view,
                        BuildConfView(std::make_shared<central::VerifiedConf>(std::move(v))));
  if (write_cache && !options_.cache_path.empty()) {
    if (new_signers) {
      AXIS_RETURN_IF_ERROR(central::WriteAnchor(anchor, options_.cache_path + ".signers"));
    }
    AXIS_RETURN_IF_ERROR(central::WriteSignedConf(signed_conf, options_.cache_path));
  }
  absl::MutexLock l(&mu_);
  anchor_ = std::move(anchor);
  current_ = std::move(view);
  current_bytes_ = signed_conf.SerializeAsString();
  // A re-signed copy of the same version is routine: say only what changed.
  if (prev == nullptr || prev->version() != current_->version()) {
    std::fprintf(stderr, "conf: installed version %llu, expires %s\n",
                 static_cast<unsigned long long>(current_->version()),
                 absl::FormatTime(absl::RFC3339_sec, current_->expires_at(), absl::UTCTimeZone())
                     .c_str());
  }
  return absl::OkStatus();
}

std::shared_ptr<const ConfView> ConfHolder::Current() const {
  absl::MutexLock l(&mu_);
  return current_;
}

absl::StatusOr<std::shared_ptr<const ConfView>> ConfHolder::CurrentValid(absl::Time now) const {
  std::shared_ptr<const ConfView> c = Current();
  if (c == nullptr) {
    return absl::UnavailableError("no global configuration yet");
  }
  if (now >= c->expires_at()) {
    return absl::FailedPreconditionError(
        absl::StrCat("global configuration version ", c->version(), " expired at ",
                     absl::FormatTime(absl::RFC3339_sec, c->expires_at(), absl::UTCTimeZone())));
  }
  return c;
}

// ---------------------------------------------------------------------------
// OcspCache

OcspCache::OcspCache(X509* cert, X509* issuer, Options options) : options_(std::move(options)) {
  X509_up_ref(cert);
  cert_.reset(cert);
  X509_up_ref(issuer);
  issuer_.reset(issuer);
}

absl::StatusOr<std::string> OcspCache::Get(const signer::TrustStore& trust, absl::Time now) {
  {
    absl::MutexLock l(&mu_);
    if (now < refresh_at_ || (now < fresh_until_ && now < next_try_)) {
      return der_;
    }
  }
  // Refresh: one thread fetches, the others use what is cached meanwhile.
  if (!fetch_mu_.TryLock()) {
    absl::MutexLock l(&mu_);
    if (now < fresh_until_) {
      return der_;
    }
    return absl::UnavailableError(absl::StrCat("OCSP: no fresh response yet: ", last_error_));
  }
  signer::OcspOptions fo;
  fo.url = options_.url;
  if (fo.url.empty() && options_.url_source) {
    fo.url = options_.url_source();
  }
  fo.timeout = options_.timeout;
  fo.send_nonce = true;
  absl::StatusOr<signer::OcspResponse> r = signer::FetchOcsp(cert_.get(), issuer_.get(), fo);
  absl::Status error;
  if (r.ok()) {
    signer::OcspCheckOptions co;
    co.expected_nonce = r->nonce;
    co.allow_missing_nonce = true;
    co.max_age = options_.max_age;
    absl::StatusOr<signer::OcspStatus> st =
        signer::CheckOcspResponse(r->der, cert_.get(), issuer_.get(), trust, now, co);
    if (st.ok()) {
      absl::Time until = std::min(st->next_update, st->this_update + options_.max_age);
      absl::MutexLock l(&mu_);
      der_ = r->der;
      fresh_until_ = until;
      this_update_ = st->this_update;
      next_update_ = st->next_update;
      refresh_at_ = std::max(now + absl::Seconds(1), until - options_.refresh_ahead);
      // A response older than half its life is refreshed after a short wait.
      refresh_at_ = std::min(refresh_at_, now + (until - now) / 2);
      last_error_.clear();
    } else {
      error = st.status();
    }
  } else {
    error = r.status();
  }
  fetch_mu_.Unlock();
  absl::MutexLock l(&mu_);
  last_url_ = fo.url;
  if (!error.ok()) {
    last_error_ = std::string(error.message());
    next_try_ = now + options_.retry_after_failure;
  }
  if (now < fresh_until_) {
    return der_;
  }
  return absl::UnavailableError(absl::StrCat("OCSP: no fresh response: ", last_error_));
}

OcspCache::Held OcspCache::State() const {
  absl::MutexLock l(&mu_);
  Held h;
  h.url = last_url_;
  h.fresh_until = fresh_until_;
  h.this_update = this_update_;
  h.next_update = next_update_;
  h.last_error = last_error_;
  return h;
}

// ---------------------------------------------------------------------------
// Envelopes and receipts

namespace {

// AddChain puts the signer's certificate and its chain into `m`.
template <typename SignedMessage>
void AddChain(const signer::SigningKey& key, SignedMessage* m) {
  m->add_cert_chain_der(signer::CertificateDer(key.cert.get()));
  for (const UniquePtr<X509>& c : key.chain) {
    m->add_cert_chain_der(signer::CertificateDer(c.get()));
  }
}

// EnvelopeOf is a sealed envelope: the header bytes, their batch proof and
// the seal's chain.
Envelope EnvelopeOf(std::string header, const BatchProof& proof, const signer::SigningKey& key) {
  Envelope e;
  e.set_header(std::move(header));
  SetProof(proof, &e);
  AddChain(key, &e);
  return e;
}

}  // namespace

absl::StatusOr<std::vector<Envelope>> SealEnvelopes(const std::vector<EnvelopeHeader>& headers,
                                                    BatchSigner& signer) {
  if (signer.kind() != BatchKind::kEnvelope) {
    return absl::InternalError("envelopes need an envelope batch signer");
  }
  std::vector<std::string> leaves;
  leaves.reserve(headers.size());
  for (const EnvelopeHeader& h : headers) {
    leaves.push_back(h.SerializeAsString());
  }
  AXIS_ASSIGN_OR_RETURN(std::vector<BatchProof> proofs, signer.SignAll(leaves));
  std::vector<Envelope> out;
  out.reserve(headers.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    out.push_back(EnvelopeOf(std::move(leaves[i]), proofs[i], signer.key()));
  }
  return out;
}

absl::StatusOr<Envelope> SealEnvelope(const EnvelopeHeader& header, BatchSigner& signer) {
  AXIS_ASSIGN_OR_RETURN(std::vector<Envelope> one, SealEnvelopes({header}, signer));
  return std::move(one[0]);
}

absl::StatusOr<OutgoingSeal> StartSealOutgoing(const MessageRow& m, const Identifier& sender,
                                               const std::vector<Identifier>& recipients,
                                               BatchSigner& signer, std::vector<LogItem>* log) {
  if (signer.kind() != BatchKind::kEnvelope) {
    return absl::InternalError("envelopes need an envelope batch signer");
  }
  OutgoingSeal out;
  out.signer_ = &signer;
  std::vector<std::string> leaves;
  for (const Identifier& recipient : recipients) {
    EnvelopeHeader eh;
    eh.set_message_id(m.id);
    *eh.mutable_sender() = sender;
    *eh.mutable_recipient() = recipient;
    *eh.mutable_created_at() = ToProtoTime(m.created_at);
    eh.set_payload_sha256(m.payload_sha256);
    eh.set_payload_size(m.payload_size);
    eh.set_content_type(m.content_type);
    eh.set_document_type(m.document_type);
    eh.set_dms_reference(m.dms_reference);
    eh.set_in_reply_to(m.in_reply_to);
    eh.set_status_code(m.status_code);
    eh.set_status_text(m.status_text);
    std::string salt(16, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
        1) {
      return absl::InternalError("envelope: no random bytes for the header's salt");
    }
    eh.set_salt(std::move(salt));
    leaves.push_back(eh.SerializeAsString());
    // The log record holds the header, not the signature: it can be
    // written before the signature exists.
    log->push_back({static_cast<int>(LogEvent::kAccepted), m.id, m.sender, leaves.back()});
    OutboxRow& o = out.rows_.emplace_back();
    o.message_id = m.id;
    o.recipient = FormatIdentifier(recipient);
    o.state = OutboxState::kAccepted;
    o.next_attempt = m.created_at;
    o.updated_at = m.created_at;
    o.payload_sha256 = m.payload_sha256;
    o.payload_size = m.payload_size;
  }
  out.headers_ = leaves;
  out.ticket_ = signer.Submit(std::move(leaves));
  return out;
}

absl::StatusOr<std::vector<OutboxRow>> OutgoingSeal::Finish() {
  AXIS_ASSIGN_OR_RETURN(std::vector<BatchProof> proofs, signer_->Wait(ticket_));
  if (proofs.size() != rows_.size()) {
    return absl::InternalError("envelope batch: a proof per header expected");
  }
  for (size_t i = 0; i < rows_.size(); ++i) {
    rows_[i].envelope = EnvelopeOf(std::move(headers_[i]), proofs[i], signer_->key()).SerializeAsString();
  }
  return std::move(rows_);
}

absl::StatusOr<std::vector<OutboxRow>> SealOutgoing(const MessageRow& m, const Identifier& sender,
                                                    const std::vector<Identifier>& recipients,
                                                    BatchSigner& signer,
                                                    std::vector<LogItem>* log) {
  AXIS_ASSIGN_OR_RETURN(OutgoingSeal seal, StartSealOutgoing(m, sender, recipients, signer, log));
  return seal.Finish();
}

absl::StatusOr<CheckedEnvelope> CheckEnvelope(const Envelope& envelope, const ConfView& conf,
                                              absl::Time now, bool require_ocsp,
                                              absl::Duration ocsp_max_age) {
  CheckedEnvelope out;
  if (!out.header.ParseFromString(envelope.header())) {
    return absl::InvalidArgumentError("envelope: header does not parse");
  }
  if (out.header.message_id().empty() || out.header.payload_sha256().size() != 32) {
    return absl::InvalidArgumentError("envelope: header lacks message id or payload digest");
  }
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(out.header.sender()));
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(out.header.recipient()));
  out.header_sha256 = signer::Sha256(envelope.header());
  AXIS_ASSIGN_OR_RETURN(ParsedChain chain, ParseChain(envelope.cert_chain_der(), "envelope"));
  X509* leaf = chain.certs[0].get();
  std::string memo_key =
      MemoKey(envelope.cert_chain_der(), require_ocsp ? envelope.ocsp_response() : "");
  bool memo = conf.RecentlyValid(memo_key, now);
  signer::ChainResult cr;
  if (memo) {
    AXIS_RETURN_IF_ERROR(CheckMember(leaf, out.header.sender(), "envelope"));
  } else {
    AXIS_RETURN_IF_ERROR(
        CheckSigner(leaf, chain.untrusted, conf, out.header.sender(), now, "envelope", &cr));
  }
  absl::Status sig = VerifyBatchProof(leaf, BatchKind::kEnvelope, envelope.header(),
                                      ProofOf(envelope), &conf.signatures, now);
  if (!sig.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope signature does not verify: ", sig.message()));
  }
  absl::Time until = now + kMemoTtl;
  if (require_ocsp && !memo) {
    if (envelope.ocsp_response().empty()) {
      return absl::InvalidArgumentError("envelope: no OCSP response for the signing certificate");
    }
    if (cr.certs.size() < 2) {
      return absl::InvalidArgumentError("envelope: signing certificate has no issuer in the chain");
    }
    signer::OcspCheckOptions co;
    co.allow_missing_nonce = true;
    co.max_age = ocsp_max_age;
    absl::StatusOr<signer::OcspStatus> st = signer::CheckOcspResponse(
        envelope.ocsp_response(), leaf, cr.certs[1].get(), conf.trust, now, co);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("envelope OCSP: ", st.status().message()));
    }
    if (st->status == signer::OcspCertStatus::kRevoked) {
      return absl::InvalidArgumentError(absl::StrCat(
          "envelope signing certificate revoked at ",
          absl::FormatTime(absl::RFC3339_sec, st->revocation_time, absl::UTCTimeZone()),
          st->reason.empty() ? "" : absl::StrCat(" (", st->reason, ")")));
    }
    if (st->status != signer::OcspCertStatus::kGood) {
      return absl::InvalidArgumentError("envelope signing certificate: OCSP status unknown");
    }
    until = std::min({until, st->next_update, st->this_update + ocsp_max_age});
  }
  if (!memo) {
    conf.RememberValid(memo_key, until);
  }
  out.signer = std::move(chain.certs[0]);
  return out;
}

absl::Status SignReceipts(const std::vector<Receipt*>& receipts, BatchSigner& signer) {
  if (signer.kind() != BatchKind::kReceipt) {
    return absl::InternalError("receipts need a receipt batch signer");
  }
  std::vector<std::string> leaves;
  leaves.reserve(receipts.size());
  for (const Receipt* r : receipts) {
    leaves.push_back(r->body());
  }
  AXIS_ASSIGN_OR_RETURN(std::vector<BatchProof> proofs, signer.SignAll(leaves));
  for (size_t i = 0; i < receipts.size(); ++i) {
    SetProof(proofs[i], receipts[i]);
    receipts[i]->clear_cert_chain_der();
    AddChain(signer.key(), receipts[i]);
  }
  return absl::OkStatus();
}

absl::StatusOr<Receipt> MakeReceipt(const ReceiptBody& body, BatchSigner& signer) {
  Receipt r;
  r.set_body(body.SerializeAsString());
  AXIS_RETURN_IF_ERROR(SignReceipts({&r}, signer));
  return r;
}

absl::StatusOr<ReceiptBody> CheckReceipt(const Receipt& receipt, const ConfView& conf,
                                         const std::string& message_id,
                                         const std::string& envelope_sha256,
                                         const Identifier& recipient_member, absl::Time now) {
  ReceiptBody body;
  if (!body.ParseFromString(receipt.body())) {
    return absl::InvalidArgumentError("receipt: body does not parse");
  }
  AXIS_ASSIGN_OR_RETURN(ParsedChain chain, ParseChain(receipt.cert_chain_der(), "receipt"));
  std::string memo_key = MemoKey(receipt.cert_chain_der(), "receipt");
  if (conf.RecentlyValid(memo_key, now)) {
    AXIS_RETURN_IF_ERROR(CheckMember(chain.certs[0].get(), recipient_member, "receipt"));
  } else {
    signer::ChainResult cr;
    AXIS_RETURN_IF_ERROR(CheckSigner(chain.certs[0].get(), chain.untrusted, conf,
                                     recipient_member, now, "receipt", &cr));
    conf.RememberValid(memo_key, now + kMemoTtl);
  }
  absl::Status sig = VerifyBatchProof(chain.certs[0].get(), BatchKind::kReceipt, receipt.body(),
                                      ProofOf(receipt), &conf.signatures, now);
  if (!sig.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("receipt signature does not verify: ", sig.message()));
  }
  if (body.message_id() != message_id || body.envelope_sha256() != envelope_sha256) {
    return absl::InvalidArgumentError("receipt is for another message or envelope");
  }
  return body;
}

absl::StatusOr<std::string> PemCertSha256Hex(const std::string& pem) {
  AXIS_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> certs, signer::ParsePemCertificates(pem, "certificate"));
  return HexOf(signer::Sha256(signer::CertificateDer(certs[0].get())));
}

absl::StatusOr<std::string> PemCertSubject(const std::string& pem) {
  AXIS_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> certs, signer::ParsePemCertificates(pem, "certificate"));
  return signer::DescribeCertificate(certs[0].get()).subject;
}

}  // namespace axis::ss
