#include "central-server/conf_client.h"

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "central.grpc.pb.h"
#include "common/status_macros.h"
#include "signer/bytes_sign.h"

namespace axis::central {
namespace {

absl::StatusOr<std::string> DerToPem(const std::string& der) {
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, signer::CertFromDer(der));
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return absl::InternalError("cannot write the central TLS CA as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::unique_ptr<CentralPublic::Stub>> PublicStub(const ConfAnchor& anchor) {
  if (anchor.central_address().empty()) {
    return absl::InvalidArgumentError("anchor has no central_address");
  }
  if (anchor.central_tls_ca_der().empty()) {
    return absl::InvalidArgumentError("anchor has no central_tls_ca_der");
  }
  AXIS_ASSIGN_OR_RETURN(std::string ca_pem, DerToPem(anchor.central_tls_ca_der()));
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(anchor.central_address(), grpc::SslCredentials(ssl), args);
  return CentralPublic::NewStub(channel);
}

absl::Status FromGrpc(const grpc::Status& status, const ConfAnchor& anchor) {
  absl::StatusCode code = static_cast<absl::StatusCode>(status.error_code());
  if (code == absl::StatusCode::kDeadlineExceeded) {
    code = absl::StatusCode::kUnavailable;
  }
  return absl::Status(code, absl::StrCat("central server ", anchor.central_address(), ": ",
                                         status.error_message()));
}

}  // namespace

absl::StatusOr<SignedGlobalConf> FetchGlobalConf(const ConfAnchor& anchor, uint64_t since_version,
                                                 absl::Duration deadline) {
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<CentralPublic::Stub> stub, PublicStub(anchor));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  GetGlobalConfRequest request;
  request.set_since_version(since_version);
  SignedGlobalConf reply;
  grpc::Status status = stub->GetGlobalConf(&context, request, &reply);
  if (!status.ok()) {
    return FromGrpc(status, anchor);
  }
  return reply;
}

absl::StatusOr<SubmitRequestReply> SubmitManagementRequest(const ConfAnchor& anchor,
                                                           const SignedManagementRequest& request,
                                                           absl::Duration deadline) {
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<CentralPublic::Stub> stub, PublicStub(anchor));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  SubmitRequestReply reply;
  grpc::Status status = stub->SubmitRequest(&context, request, &reply);
  if (!status.ok()) {
    return FromGrpc(status, anchor);
  }
  return reply;
}

ConfPoller::ConfPoller(ConfPollerOptions options)
    : options_(std::move(options)), anchor_(options_.anchor) {}

ConfAnchor ConfPoller::Anchor() const {
  absl::MutexLock lock(&mu_);
  return anchor_;
}

ConfPoller::~ConfPoller() { Stop(); }

absl::Time ConfPoller::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : real_clock_.Now();
}

absl::StatusOr<std::unique_ptr<ConfPoller>> ConfPoller::Create(ConfPollerOptions options) {
  if (options.period <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("conf poller: period must be positive");
  }
  std::unique_ptr<ConfPoller> poller(new ConfPoller(std::move(options)));
  if (!poller->options_.cache_path.empty()) {
    absl::StatusOr<ConfAnchor> signers = ReadAnchor(poller->options_.cache_path + ".signers");
    if (signers.ok() && signers->instance() == poller->options_.anchor.instance()) {
      absl::MutexLock lock(&poller->mu_);
      AddAnchorSigners(signers->signing_certs_der(), &poller->anchor_);
    }
    absl::StatusOr<SignedGlobalConf> cached = ReadSignedConf(poller->options_.cache_path);
    if (cached.ok()) {
      // Expiry is checked on use, so verify "just after signing": an expired
      // cache is still the last good one (and shows why we stopped).
      ValidityStatement statement;
      absl::Time at = poller->Now();
      if (statement.ParseFromString(cached->statement())) {
        at = absl::FromUnixSeconds(statement.signed_at().seconds());
      }
      absl::StatusOr<VerifiedConf> verified =
          VerifySignedConf(*cached, poller->Anchor(), nullptr, at);
      if (verified.ok()) {
        absl::MutexLock lock(&poller->mu_);
        poller->current_ = std::make_shared<const VerifiedConf>(*std::move(verified));
      }
    }
  }
  return poller;
}

absl::Status ConfPoller::Install(const SignedGlobalConf& signed_conf, bool write_cache) {
  std::shared_ptr<const VerifiedConf> previous = Current();
  absl::StatusOr<VerifiedConf> verified =
      VerifySignedConf(signed_conf, Anchor(), previous.get(), Now());
  if (!verified.ok()) {
    return verified.status();
  }
  ConfAnchor extended = Anchor();
  bool new_signers = AddAnchorSigners(verified->conf.signing_certs_der(), &extended);
  if (write_cache && !options_.cache_path.empty()) {
    if (new_signers) {
      AXIS_RETURN_IF_ERROR(WriteAnchor(extended, options_.cache_path + ".signers"));
    }
    AXIS_RETURN_IF_ERROR(WriteSignedConf(signed_conf, options_.cache_path));
  }
  absl::MutexLock lock(&mu_);
  anchor_ = std::move(extended);
  current_ = std::make_shared<const VerifiedConf>(*std::move(verified));
  return absl::OkStatus();
}

absl::Status ConfPoller::PollOnce() {
  absl::MutexLock poll_lock(&poll_mu_);
  std::shared_ptr<const VerifiedConf> previous = Current();
  absl::Status result;
  absl::StatusOr<SignedGlobalConf> fetched = FetchGlobalConf(
      Anchor(), previous != nullptr ? previous->conf.version() : 0, options_.fetch_deadline);
  if (!fetched.ok()) {
    result = fetched.status();
  } else {
    result = Install(*fetched, true);
  }
  absl::MutexLock lock(&mu_);
  last_error_ = result;
  return result;
}

void ConfPoller::Start() {
  if (thread_.joinable()) {
    return;
  }
  stop_ = std::make_unique<absl::Notification>();
  thread_ = std::thread([this] {
    do {
      absl::Status s = PollOnce();
      if (!s.ok()) {
        (void)std::fprintf(stderr, "event=globalconf_poll_failed reason=\"%s\"\n",
                           std::string(s.message()).c_str());
      }
    } while (!stop_->WaitForNotificationWithTimeout(options_.period));
  });
}

void ConfPoller::Stop() {
  if (thread_.joinable()) {
    stop_->Notify();
    thread_.join();
  }
}

std::shared_ptr<const VerifiedConf> ConfPoller::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::shared_ptr<const VerifiedConf>> ConfPoller::CurrentValid() const {
  std::shared_ptr<const VerifiedConf> current = Current();
  if (current == nullptr) {
    return absl::UnavailableError("no global configuration has been fetched yet");
  }
  if (Now() >= current->expires_at) {
    return absl::FailedPreconditionError(absl::StrCat(
        "global configuration version ", current->conf.version(), " expired at ",
        absl::FormatTime(absl::RFC3339_sec, current->expires_at, absl::UTCTimeZone())));
  }
  return current;
}

absl::Status ConfPoller::LastError() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace axis::central
