#include "central-server/server.h"

#include <grpcpp/health_check_service_interface.h>
#include <openssl/pem.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "central-server/config.h"
#include "central-server/globalconf.h"
#include "central-server/requests.h"
#include "central.grpc.pb.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"

namespace axis::central {
namespace {

// Requests and admin calls are small (the largest: a CA with its CRL).
constexpr int kMaxMessageBytes = 16 << 20;

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInternal || s.code() == absl::StatusCode::kDataLoss) {
    // Details (paths, SQL) stay in the local log.
    (void)std::fprintf(stderr, "event=central_error code=%d message=\"%s\"\n",
                       static_cast<int>(s.code()), std::string(s.message()).c_str());
    return grpc::Status(static_cast<grpc::StatusCode>(s.code()), "central server internal error");
  }
  return ToGrpcStatus(s);
}

grpc::Status Reply(const absl::StatusOr<uint64_t>& version, AdminReply* reply) {
  if (!version.ok()) {
    return ToGrpc(version.status());
  }
  reply->set_conf_version(*version);
  return grpc::Status::OK;
}

class PublicService final : public CentralPublic::Service {
 public:
  explicit PublicService(CentralServer* server) : server_(server) {}

  grpc::Status GetGlobalConf(grpc::ServerContext*, const GetGlobalConfRequest*,
                             SignedGlobalConf* reply) override {
    if (!server_->ready()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "central server is starting");
    }
    absl::StatusOr<SignedGlobalConf> conf = server_->CurrentSignedConf();
    if (!conf.ok()) {
      return ToGrpc(conf.status());
    }
    *reply = *std::move(conf);
    return grpc::Status::OK;
  }

  grpc::Status SubmitRequest(grpc::ServerContext*, const SignedManagementRequest* request,
                             SubmitRequestReply* reply) override {
    if (!server_->ready()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "central server is starting");
    }
    Registry& registry = server_->registry();
    GlobalConf conf;
    if (!conf.ParseFromString(registry.Latest().bytes)) {
      return ToGrpc(absl::InternalError("latest configuration is unreadable"));
    }
    absl::StatusOr<ManagementRequest> verified =
        VerifyManagementRequest(*request, conf, server_->clock()->Now());
    if (!verified.ok()) {
      (void)std::fprintf(stderr, "event=request_refused reason=\"%s\"\n",
                         std::string(verified.status().message()).c_str());
      return ToGrpc(verified.status());
    }
    absl::StatusOr<uint64_t> id = registry.FileRequest(*request, *verified);
    if (!id.ok()) {
      return ToGrpc(id.status());
    }
    reply->set_request_id(*id);
    reply->set_status("pending");
    (void)std::fprintf(stderr, "event=request_filed id=%llu kind=%s member=%s\n",
                       static_cast<unsigned long long>(*id), RequestKind(*verified).c_str(),
                       FormatIdentifier(verified->member()).c_str());
    if (AutoApproved(*verified)) {
      absl::StatusOr<uint64_t> version = registry.ApproveRequest(*id);
      if (version.ok()) {
        reply->set_status("approved");
      } else {
        (void)std::fprintf(stderr, "event=auto_approve_failed id=%llu reason=\"%s\"\n",
                           static_cast<unsigned long long>(*id),
                           std::string(version.status().message()).c_str());
      }
    }
    reply->set_conf_version(registry.Latest().version);
    return grpc::Status::OK;
  }

 private:
  bool AutoApproved(const ManagementRequest& r) const {
    const AutoApprove& a = server_->config().auto_approve();
    switch (r.action_case()) {
      case ManagementRequest::kRegisterServer:
        return a.register_server();
      case ManagementRequest::kDeleteAuthCert:
        return a.delete_auth_cert();
      case ManagementRequest::kAddSubsystem:
        return a.add_subsystem();
      case ManagementRequest::kDeleteSubsystem:
        return a.delete_subsystem();
      case ManagementRequest::kChangeAddress:
        return a.change_address();
      case ManagementRequest::ACTION_NOT_SET:
        break;
    }
    return false;
  }
  CentralServer* server_;
};

#define AXIS_ADMIN_CHECK(context)                            \
  do {                                                       \
    grpc::Status axis_admin_ = server_->CheckAdmin(context); \
    if (!axis_admin_.ok()) {                                 \
      return axis_admin_;                                    \
    }                                                        \
  } while (0)

class AdminService final : public CentralAdmin::Service {
 public:
  explicit AdminService(CentralServer* server) : server_(server) {}

  grpc::Status AddMember(grpc::ServerContext* c, const MemberRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("member_add", FormatIdentifier(r->id()),
               Reply(server_->registry().AddMember(
                         r->id(), r->name(),
                         std::vector<std::string>(r->other_codes().begin(), r->other_codes().end())),
                     out));
  }
  grpc::Status RemoveMember(grpc::ServerContext* c, const MemberRequest* r,
                            AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("member_remove", FormatIdentifier(r->id()),
               Reply(server_->registry().RemoveMember(r->id()), out));
  }
  grpc::Status AddSubsystem(grpc::ServerContext* c, const SubsystemRequest* r,
                            AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("subsystem_add", FormatIdentifier(r->id()),
               Reply(server_->registry().AddSubsystem(r->id(), r->name()), out));
  }
  grpc::Status RemoveSubsystem(grpc::ServerContext* c, const SubsystemRequest* r,
                               AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("subsystem_remove", FormatIdentifier(r->id()),
               Reply(server_->registry().RemoveSubsystem(r->id()), out));
  }
  grpc::Status AddServer(grpc::ServerContext* c, const ServerRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("server_add", r->server_code(),
               Reply(server_->registry().AddServer(r->owner(), r->server_code(), r->address(),
                                                   r->auth_cert_der()),
                     out));
  }
  grpc::Status RemoveServer(grpc::ServerContext* c, const ServerRequest* r,
                            AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("server_remove", r->server_code(),
               Reply(server_->registry().RemoveServer(r->owner(), r->server_code()), out));
  }
  grpc::Status AddCa(grpc::ServerContext* c, const CaRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    std::vector<std::string> urls(r->ocsp_urls().begin(), r->ocsp_urls().end());
    return Log("ca_add", r->name(),
               Reply(server_->registry().AddCa(r->name(), r->cert_der(), urls, r->crl_der()), out));
  }
  grpc::Status RemoveCa(grpc::ServerContext* c, const CaRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("ca_remove", r->name(), Reply(server_->registry().RemoveCa(r->name()), out));
  }
  grpc::Status AddTsa(grpc::ServerContext* c, const TsaRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("tsa_add", r->name(),
               Reply(server_->registry().AddTsa(r->name(), r->url(), r->cert_der()), out));
  }
  grpc::Status RemoveTsa(grpc::ServerContext* c, const TsaRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("tsa_remove", r->name(), Reply(server_->registry().RemoveTsa(r->name()), out));
  }
  grpc::Status AddGroup(grpc::ServerContext* c, const GroupRequest* r, AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    std::vector<Identifier> members(r->members().begin(), r->members().end());
    return Log("group_add", r->code(),
               Reply(server_->registry().AddGroup(r->code(), r->description(), members), out));
  }
  grpc::Status RemoveGroup(grpc::ServerContext* c, const GroupRequest* r,
                           AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("group_remove", r->code(), Reply(server_->registry().RemoveGroup(r->code()), out));
  }
  grpc::Status ListRequests(grpc::ServerContext* c, const ListRequestsRequest* r,
                            ListRequestsReply* out) override {
    AXIS_ADMIN_CHECK(c);
    absl::StatusOr<std::vector<RequestInfo>> list =
        server_->registry().ListRequests(r->pending_only());
    if (!list.ok()) {
      return ToGrpc(list.status());
    }
    for (RequestInfo& info : *list) {
      *out->add_requests() = std::move(info);
    }
    return grpc::Status::OK;
  }
  grpc::Status ApproveRequest(grpc::ServerContext* c, const DecideRequest* r,
                              AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("request_approve", absl::StrCat(r->id()),
               Reply(server_->registry().ApproveRequest(r->id()), out));
  }
  grpc::Status RejectRequest(grpc::ServerContext* c, const DecideRequest* r,
                             AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    absl::Status s = server_->registry().RejectRequest(r->id(), r->reason());
    out->set_conf_version(server_->registry().Latest().version);
    return Log("request_reject", absl::StrCat(r->id()), ToGrpc(s));
  }
  grpc::Status RotateSigningKey(grpc::ServerContext* c, const RotateKeyRequest* r,
                                AdminReply* out) override {
    AXIS_ADMIN_CHECK(c);
    return Log("key_rotate", "", Reply(Rotate(*r), out));
  }
  grpc::Status GetHistory(grpc::ServerContext* c, const HistoryRequest* r,
                          ConfHistory* out) override {
    AXIS_ADMIN_CHECK(c);
    absl::StatusOr<std::vector<ConfVersion>> history =
        server_->registry().History(r->from_version());
    if (!history.ok()) {
      return ToGrpc(history.status());
    }
    for (ConfVersion& v : *history) {
      out->add_confs(std::move(v.bytes));
    }
    return grpc::Status::OK;
  }
  grpc::Status GetAnchor(grpc::ServerContext* c, const AnchorRequest*, ConfAnchor* out) override {
    AXIS_ADMIN_CHECK(c);
    absl::StatusOr<ConfAnchor> anchor = server_->Anchor();
    if (!anchor.ok()) {
      return ToGrpc(anchor.status());
    }
    *out = *std::move(anchor);
    return grpc::Status::OK;
  }

 private:
  absl::StatusOr<uint64_t> Rotate(const RotateKeyRequest& r) {
    AXIS_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> certs,
                          signer::ParsePemCertificates(r.cert_pem(), "new signing certificate"));
    UniquePtr<BIO> bio(BIO_new_mem_buf(r.key_pem().data(), static_cast<int>(r.key_pem().size())));
    UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) {
      return absl::InvalidArgumentError("new signing key is not an unencrypted PEM private key");
    }
    if (X509_check_private_key(certs[0].get(), key.get()) != 1) {
      return absl::InvalidArgumentError("new signing certificate does not match the new key");
    }
    AXIS_ASSIGN_OR_RETURN(std::string der, signer::CertToDer(certs[0].get()));
    return server_->registry().AnnounceSigningKey(
        der, r.key_pem(), server_->clock()->Now() + RotationGrace(server_->config()));
  }

  grpc::Status Log(const char* event, const std::string& what, grpc::Status s) {
    (void)std::fprintf(stderr, "event=admin_%s target=\"%s\" ok=%d%s%s\n", event, what.c_str(),
                       s.ok() ? 1 : 0,
                       s.ok() ? "" : " error=", s.ok() ? "" : s.error_message().c_str());
    return s;
  }
  CentralServer* server_;
};

std::string PemOfFile(const std::string& path, absl::Status* error) {
  absl::StatusOr<std::string> data = ReadFile(path, size_t{1} << 20);
  if (!data.ok()) {
    *error = data.status();
    return "";
  }
  return *data;
}

}  // namespace

CentralServer::CentralServer(CentralConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock != nullptr ? clock : &real_clock_) {}

CentralServer::~CentralServer() { Shutdown(); }

void CentralServer::Shutdown() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    server_.reset();
  }
}

absl::StatusOr<std::unique_ptr<CentralServer>> CentralServer::Start(const CentralConfig& config,
                                                                    const Clock* clock) {
  std::vector<std::string> problems = CheckCentralConfig(config);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(problems.front());
  }
  std::unique_ptr<CentralServer> s(new CentralServer(config, clock));
  AXIS_ASSIGN_OR_RETURN(s->config_key_,
                        signer::LoadSigningKey({config.signing_key(), config.signing_cert(), ""},
                                               signer::NoSecret()));
  AXIS_ASSIGN_OR_RETURN(s->config_cert_der_, signer::CertToDer(s->config_key_.cert.get()));

  absl::Status read_error;
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = PemOfFile(config.client_ca(), &read_error);
  ssl.pem_key_cert_pairs.push_back(
      {PemOfFile(config.tls_key(), &read_error), PemOfFile(config.tls_cert(), &read_error)});
  AXIS_RETURN_IF_ERROR(read_error);

  s->public_service_ = std::make_unique<PublicService>(s.get());
  s->admin_service_ = std::make_unique<AdminService>(s.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen(), grpc::SslServerCredentials(ssl), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.RegisterService(s->public_service_.get());
  builder.RegisterService(s->admin_service_.get());
  // Open the registry before serving so no call sees a half-started server;
  // the published address needs the bound port, hence the listener first.
  std::string host = config.listen().substr(0, config.listen().rfind(':'));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen()));
  }
  s->address_ = absl::StrCat(host, ":", port);
  std::string published = config.public_address().empty() ? s->address_ : config.public_address();
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Open(
      config.db_path(), config.instance(), published, s->config_cert_der_, s->clock_);
  if (!registry.ok()) {
    s->Shutdown();
    return registry.status();
  }
  s->registry_ = *std::move(registry);
  // The configured key must be the one the registry knows, or a rotation
  // must have replaced it.
  absl::StatusOr<SigningKeyRecord> active = s->registry_->ActiveSigningKey();
  if (!active.ok()) {
    s->Shutdown();
    return active.status();
  }
  if (active->key_pem.empty() && active->cert_der != s->config_cert_der_) {
    s->Shutdown();
    return absl::FailedPreconditionError(
        "signing_cert differs from the configuration-signing certificate in the database; "
        "change keys with `axis central key rotate`");
  }
  absl::StatusOr<SignedGlobalConf> first = s->CurrentSignedConf();
  if (!first.ok()) {
    s->Shutdown();
    return first.status();
  }
  s->ready_ = true;
  return s;
}

grpc::Status CentralServer::CheckAdmin(grpc::ServerContext* context) const {
  if (!ready_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "central server is starting");
  }
  std::vector<grpc::string_ref> pems = context->auth_context()->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "admin calls need an admin client certificate");
  }
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = signer::ParsePemCertificates(
      absl::string_view(pems[0].data(), pems[0].size()), "client certificate");
  if (!certs.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unreadable client certificate");
  }
  signer::CertificateInfo info = signer::DescribeCertificate((*certs)[0].get());
  for (const std::string& subject : config_.admin_subjects()) {
    if (subject == info.subject) {
      return grpc::Status::OK;
    }
  }
  for (const std::string& sha : config_.admin_sha256()) {
    std::string want = absl::AsciiStrToLower(absl::StrReplaceAll(sha, {{":", ""}}));
    if (want == absl::AsciiStrToLower(info.sha256_hex)) {
      return grpc::Status::OK;
    }
  }
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("client certificate \"", info.subject, "\" is not an admin certificate"));
}

absl::StatusOr<signer::SigningKey> CentralServer::KeyFor(const SigningKeyRecord& record) {
  signer::SigningKey key;
  if (record.key_pem.empty()) {
    key.key = UniquePtr<EVP_PKEY>(EVP_PKEY_dup(config_key_.key.get()));
    key.cert = UniquePtr<X509>(X509_dup(config_key_.cert.get()));
    for (const UniquePtr<X509>& c : config_key_.chain) {
      key.chain.push_back(UniquePtr<X509>(X509_dup(c.get())));
    }
    if (key.key == nullptr) {
      // Keys on a token cannot be duplicated; keep using the loaded one.
      return absl::InternalError("cannot use the configuration-signing key");
    }
    return key;
  }
  UniquePtr<BIO> bio(
      BIO_new_mem_buf(record.key_pem.data(), static_cast<int>(record.key_pem.size())));
  key.key = UniquePtr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key.key == nullptr) {
    return absl::InternalError("stored signing key is unreadable");
  }
  AXIS_ASSIGN_OR_RETURN(key.cert, signer::CertFromDer(record.cert_der));
  return key;
}

absl::StatusOr<SignedGlobalConf> CentralServer::CurrentSignedConf() {
  absl::MutexLock lock(&sign_mu_);
  absl::Time now = clock_->Now();
  AXIS_ASSIGN_OR_RETURN(bool rotated, registry_->ActivateDueKeys(now));
  if (rotated) {
    (void)std::fprintf(stderr, "event=signing_key_activated version=%llu\n",
                       static_cast<unsigned long long>(registry_->Latest().version));
  }
  ConfVersion latest = registry_->Latest();
  AXIS_ASSIGN_OR_RETURN(SigningKeyRecord record, registry_->ActiveSigningKey());
  if (latest.version != signed_version_ || record.id != signed_key_id_ ||
      now >= signed_at_ + ResignPeriod(config_)) {
    AXIS_ASSIGN_OR_RETURN(signer::SigningKey key, KeyFor(record));
    AXIS_ASSIGN_OR_RETURN(signed_, SignGlobalConf(latest.bytes, key, now, Validity(config_)));
    signed_version_ = latest.version;
    signed_key_id_ = record.id;
    signed_at_ = now;
  }
  return signed_;
}

absl::StatusOr<ConfAnchor> CentralServer::Anchor() {
  GlobalConf conf;
  if (!conf.ParseFromString(registry_->Latest().bytes)) {
    return absl::InternalError("latest configuration is unreadable");
  }
  ConfAnchor anchor;
  anchor.set_instance(config_.instance());
  anchor.set_central_address(conf.central_address());
  for (const std::string& der : conf.signing_certs_der()) {
    anchor.add_signing_certs_der(der);
  }
  AXIS_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> ca,
                        signer::LoadPemCertificates(config_.tls_ca()));
  AXIS_ASSIGN_OR_RETURN(*anchor.mutable_central_tls_ca_der(), signer::CertToDer(ca[0].get()));
  return anchor;
}

}  // namespace axis::central
