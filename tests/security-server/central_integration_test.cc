// central_integration_test.cc: security servers that know only their
// configuration anchor and take the global configuration from the real
// axis-central-server. The operator builds the federation with `axis central`
// (CAs with the OCSP responder, the real axis-tsa, three members with a QLVB
// subsystem each), each agency files `axis server register` signed with its
// seal, the operator approves; then documents travel, an unapproved server is
// refused, a removal reaches the others within their poll period, and a
// central outage is survived until the configuration expires and recovered
// from without restarting anything.
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/log_fixture.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;

// The central signs for kValidity and re-signs every second; the security
// servers poll every second (conf_poll_seconds in ss_fixture.h).
constexpr absl::Duration kValidity = absl::Seconds(10);

class CentralIntegrationTest : public SecurityServerFixture {
 protected:
  void SetUp() override {
    SecurityServerFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    tsa_ = std::make_unique<test::TsaProcess>(dir_);
    tsa_->Start();
    ASSERT_FALSE(HasFatalFailure());
    auto leaf = ReadFile(PkiPath("central/server.cert.pem"));
    auto chain = ReadFile(PkiPath("chain.pem"));
    ASSERT_TRUE(leaf.ok() && chain.ok());
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/central-tls.pem", *leaf + *chain).ok());
    absl::StatusOr<int> port = axis::testing::PickFreePort();
    ASSERT_TRUE(port.ok());
    central_address_ = absl::StrCat("127.0.0.1:", *port);
    StartCentral();
  }

  void TearDown() override {
    SecurityServerFixture::TearDown();
    StopCentral();
    if (tsa_ != nullptr) {
      tsa_->Stop();
    }
  }

  // StartCentral starts axis-central-server on central_address_ (the same
  // port every time, as the anchor names it).
  void StartCentral(const std::string& extra = "") {
    auto certs = signer::LoadPemCertificates(PkiPath("central/admin.cert.pem"));
    ASSERT_TRUE(certs.ok()) << certs.status();
    std::string admin_sha = signer::DescribeCertificate((*certs)[0].get()).sha256_hex;
    std::string text = absl::StrCat(
        "instance: \"VN\"\n", "listen: \"", central_address_, "\"\n", "db_path: \"", dir_,
        "/central.db\"\n", "tls_cert: \"", dir_, "/central-tls.pem\"\n", "tls_key: \"",
        PkiPath("central/server.key.pem"), "\"\n", "tls_ca: \"", PkiPath("roots.pem"), "\"\n",
        "client_ca: \"", PkiPath("ca-bundle.pem"), "\"\n", "admin_sha256: \"", admin_sha, "\"\n",
        "signing_key: \"", PkiPath("central/config-signing.key.pem"), "\"\n", "signing_cert: \"",
        PkiPath("central/config-signing.cert.pem"), "\"\n", "validity: \"",
        absl::FormatDuration(kValidity), "\"\n", "resign_period: \"1s\"\n", extra);
    std::string config = dir_ + "/central.textproto";
    ASSERT_TRUE(WriteFileAtomic(config, text).ok());
    central_log_ = absl::StrCat(dir_, "/central.", ++central_starts_, ".log");
    auto child = ChildProcess::Start({BinDir() + "/axis-central-server", "--config", config},
                                     central_log_);
    ASSERT_TRUE(child.ok()) << child.status();
    central_ = std::move(*child);
    // The port opens before the registry is ready: wait for the line that
    // says it serves.
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (Slurp(central_log_).find("listening on " + central_address_ + "\n") ==
           std::string::npos) {
      ASSERT_TRUE(central_->Running()) << "axis-central-server exited:\n" << Slurp(central_log_);
      ASSERT_LT(absl::Now(), deadline) << "no \"listening on\" line:\n" << Slurp(central_log_);
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  void StopCentral() {
    if (central_ != nullptr) {
      central_->Stop();
      central_.reset();
    }
  }

  // Central runs `axis central ARGS...` as the operator (admin certificate).
  axis::testing::CommandResult Central(std::vector<std::string> args) {
    args.insert(args.begin(), {BinDir() + "/axis", "central"});
    std::map<std::string, std::string> env = {{"AXIS_CENTRAL", central_address_},
                                              {"AXIS_TLS_CERT", PkiPath("central/admin.cert.pem")},
                                              {"AXIS_TLS_KEY", PkiPath("central/admin.key.pem")},
                                              {"AXIS_TLS_CA", PkiPath("roots.pem")}};
    auto r = axis::testing::RunCommand(args, "", absl::Seconds(30), env);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : axis::testing::CommandResult{};
  }

  // Populate: the operator adds the CAs (with the OCSP responder and the
  // CRL), the TSA, the three members and their QLVB subsystems, and exports
  // the anchor every security server is installed with.
  void Populate() {
    std::vector<std::vector<std::string>> steps = {
        {"ca", "add", "--cert", PkiPath("roots.pem"), "--name", "root"},
        {"ca", "add", "--cert", PkiPath("chain.pem"), "--name", "issuing", "--crl",
         PkiPath("crl.pem"), "--ocsp", ocsp_url_},
        {"tsa", "add", "--url", tsa_->url(), "--cert", PkiPath("tsa/tsa.cert.pem"), "--name",
         "tsa"}};
    for (const auto& [key, a] : agencies_) {
      steps.push_back({"member", "add", a.member, "--name", a.name});
      steps.push_back({"subsystem", "add", a.subsystem, "--name", "Quản lý văn bản"});
    }
    for (const std::vector<std::string>& args : steps) {
      axis::testing::CommandResult r = Central(args);
      ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    }
    axis::testing::CommandResult r = Central({"anchor", "-o", dir_ + "/anchor.textproto"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Register files `axis server register` for agency `key` (signed with its
  // seal, proof of possession with its server key) and returns the request
  // id the central server printed.
  std::string Register(const std::string& key) {
    const Agency& a = agencies_[key];
    std::string ag = PkiPath("agencies/" + a.dir);
    auto r = axis::testing::RunCommand(
        {BinDir() + "/axis", "server", "register", "--anchor", dir_ + "/anchor.textproto",
         // quangninh names itself by its bare code, as CLI.md teaches.
         "--member", key == "quangninh" ? a.code : a.member, "--server-code", "ss1", "--address",
         absl::StrCat("127.0.0.1:", a.relay_port), "--sign-key", ag + "/seal.key.pem",
         "--sign-cert", ag + "/seal.cert.pem", "--auth-key", ag + "/server.key.pem", "--auth-cert",
         ag + "/server.cert.pem"},
        "", absl::Seconds(30));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) {
      return "";
    }
    EXPECT_EQ(r->exit_code, 0) << r->err;
    // "request ID pending"
    std::vector<std::string> words = absl::StrSplit(r->out, ' ', absl::SkipWhitespace());
    EXPECT_EQ(words.size(), 3u) << r->out;
    EXPECT_EQ(words.size() == 3 ? absl::StripAsciiWhitespace(words[2]) : "", "pending") << r->out;
    return words.size() == 3 ? words[1] : "";
  }

  void Approve(const std::string& id) {
    axis::testing::CommandResult r = Central({"requests", "--approve", id});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // StartFromAnchor starts `key`'s security server with the anchor only: no
  // bootstrap file, so its configuration comes from the central server.
  void StartFromAnchor(const std::string& key) {
    Agency& a = agencies_[key];
    if (a.process == nullptr) {
      WriteAnchorOnlyConfig(a);
    }
    ASSERT_FALSE(HasFatalFailure());
    a.process.reset();
    absl::StatusOr<std::unique_ptr<ChildProcess>> p = ChildProcess::Start(
        {BinDir() + "/axis-security-server", "--config", a.config_path}, a.log_path);
    ASSERT_TRUE(p.ok()) << p.status();
    a.process = std::move(*p);
    for (int port : {a.gateway_port, a.relay_port}) {
      absl::Status up = axis::testing::WaitForTcpPort(port, absl::Seconds(20), a.process.get());
      ASSERT_TRUE(up.ok()) << up << "\n" << Slurp(a.log_path);
    }
  }

  // WriteAnchorOnlyConfig writes `a`'s server config without
  // global_conf_file.
  void WriteAnchorOnlyConfig(Agency& a) {
    WriteConfig(a, absl::StrCat("tsa { url: \"", tsa_->url(), "\" roots_file: \"",
                                PkiPath("roots.pem"), "\" intermediates_file: \"",
                                PkiPath("chain.pem"), "\" }\n"));
    std::string text = Slurp(a.config_path);
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    std::string kept;
    for (const std::string& line : lines) {
      if (!absl::StartsWith(line, "global_conf_file:")) {
        absl::StrAppend(&kept, line, "\n");
      }
    }
    ASSERT_NE(kept, text);
    ASSERT_TRUE(WriteFileAtomic(a.config_path, kept).ok());
  }

  // ConfVersion is the configuration version `key`'s server holds (0 when
  // it cannot tell).
  uint64_t ConfVersion(const std::string& key) {
    auto r = Axis(key, {"agencies", "--server", agencies_[key].gateway(), "--json"});
    ListAgenciesResponse list;
    if (r.exit_code != 0 ||
        !google::protobuf::util::JsonStringToMessage(r.out, &list, {}).ok()) {
      return 0;
    }
    return list.conf_version();
  }

  // WaitForVersion waits until `key`'s server holds a version above `above`.
  uint64_t WaitForVersion(const std::string& key, uint64_t above, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    uint64_t v = ConfVersion(key);
    while (v <= above && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      v = ConfVersion(key);
    }
    return v;
  }

  // Send sends `file` from `from`'s QLVB to the given agencies' QLVB.
  axis::testing::CommandResult Send(const std::string& from, const std::vector<std::string>& to,
                                    const std::string& file) {
    std::vector<std::string> args = {"send", "--server", agencies_[from].gateway(), "--from",
                                     agencies_[from].subsystem};
    for (const std::string& t : to) {
      args.push_back("--to");
      args.push_back(agencies_[t].subsystem);
    }
    args.push_back(file);
    return Axis(from, args);
  }

  // DeliverAs calls `to`'s relay directly as the server of `as` with an
  // envelope that is well formed (enough to reach the configuration and
  // peer checks) and returns the status.
  grpc::Status DeliverAs(const std::string& as, const std::string& to) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(PkiPath("ca-bundle.pem"));
    o.pem_cert_chain = Slurp(PkiPath("agencies/" + as + "/server.cert.pem"));
    o.pem_private_key = Slurp(PkiPath("agencies/" + as + "/server.key.pem"));
    auto stub = Relay::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", agencies_[to].relay_port), grpc::SslCredentials(o)));
    EnvelopeHeader h;
    h.set_message_id(absl::StrCat("direct-", as, "-", absl::ToUnixNanos(absl::Now())));
    *h.mutable_sender() = *ParseSubsystemId(agencies_[as].subsystem);
    *h.mutable_recipient() = *ParseSubsystemId(agencies_[to].subsystem);
    DeliverRequest first;
    first.mutable_envelope()->set_header(h.SerializeAsString());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    Receipt receipt;
    auto w = stub->Deliver(&ctx, &receipt);
    if (w->Write(first)) {
      w->WritesDone();
    }
    return w->Finish();
  }

  std::string Logs() {
    std::string out = absl::StrCat("--- central\n", Slurp(central_log_));
    for (auto& [key, a] : agencies_) {
      absl::StrAppend(&out, "--- ", key, "\n", Slurp(a.log_path));
    }
    return out;
  }

  std::unique_ptr<test::TsaProcess> tsa_;
  std::unique_ptr<ChildProcess> central_;
  std::string central_address_;
  std::string central_log_;
  int central_starts_ = 0;
};

TEST_F(CentralIntegrationTest,
       RegisteredServersExchangeAnUnapprovedOneIsRefusedAndARemovalReachesThePeersWithoutRestart) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  std::string vpcp_request = Register("vpcp");
  std::string mic_request = Register("mic");
  std::string qn_request = Register("quangninh");
  ASSERT_FALSE(HasFailure());
  // quangninh's registration stays pending for now.
  Approve(vpcp_request);
  Approve(mic_request);
  StartFromAnchor("vpcp");
  StartFromAnchor("mic");
  StartFromAnchor("quangninh");
  ASSERT_FALSE(HasFatalFailure());
  uint64_t v1 = ConfVersion("vpcp");
  ASSERT_GT(v1, 0u) << Logs();
  std::string decree = SignedDecree();

  // quangninh is a member with a subsystem but no approved server: mic's
  // relay does not know its certificate, and what it sends is refused.
  grpc::Status direct = DeliverAs("quangninh", "mic");
  EXPECT_EQ(direct.error_code(), grpc::StatusCode::UNAUTHENTICATED) << direct.error_message();
  EXPECT_THAT(direct.error_message(), HasSubstr("not a registered security server"));
  auto from_qn = Send("quangninh", {"mic"}, decree);
  ASSERT_EQ(from_qn.exit_code, 0) << from_qn.err << Logs();
  std::string qn_id(absl::StripAsciiWhitespace(from_qn.out));
  EXPECT_TRUE(WaitForState("quangninh", qn_id, agencies_["mic"].subsystem, RecipientStatus::FAILED,
                           absl::Seconds(10)))
      << Logs();
  StatusResponse qn_status = StatusOf("quangninh", qn_id);
  const RecipientStatus* refused = For(qn_status, agencies_["mic"].subsystem);
  ASSERT_NE(refused, nullptr);
  EXPECT_THAT(refused->reason(), HasSubstr("UNAUTHENTICATED"));
  // Nobody can send to it either: it has no security server.
  auto to_qn = Send("vpcp", {"quangninh"}, decree);
  EXPECT_NE(to_qn.exit_code, 0);
  EXPECT_THAT(to_qn.err, HasSubstr("security server"));

  // Approved, quangninh appears at every peer within the poll period, and a
  // signed decree from vpcp reaches mic and quangninh with receipts.
  Approve(qn_request);
  for (const char* key : {"vpcp", "mic", "quangninh"}) {
    EXPECT_GT(WaitForVersion(key, v1, absl::Seconds(5)), v1) << key;
  }
  auto sent = Send("vpcp", {"mic", "quangninh"}, decree);
  ASSERT_EQ(sent.exit_code, 0) << sent.err << Logs();
  std::string id(absl::StripAsciiWhitespace(sent.out));
  for (const char* key : {"mic", "quangninh"}) {
    const Agency& a = agencies_[key];
    ASSERT_TRUE(WaitForState("vpcp", id, a.subsystem, RecipientStatus::DELIVERED, absl::Seconds(15)))
        << key << "\n" << Logs();
    StatusResponse st = StatusOf("vpcp", id);
    const RecipientStatus* r = For(st, a.subsystem);
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->has_receipt());
    ReceiptBody body;
    ASSERT_TRUE(body.ParseFromString(r->receipt().body()));
    EXPECT_EQ(body.message_id(), id);
    EXPECT_EQ(FormatIdentifier(body.recipient()), a.subsystem);
    absl::StatusOr<UniquePtr<X509>> signer = signer::CertFromDer(r->receipt().cert_chain_der(0));
    ASSERT_TRUE(signer.ok());
    EXPECT_THAT(signer::DescribeCertificate(signer->get()).subject, HasSubstr(a.code));
    std::string out = axis::testing::MakeTempDir("inbox-" + a.dir);
    auto inbox =
        Axis(key, {"inbox", "--server", a.gateway(), "--subsystem", a.subsystem, "-o", out});
    ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
    EXPECT_EQ(Slurp(out + "/" + id + ".payload"), Slurp(decree));
  }

  // The operator removes mic's server: vpcp and quangninh pick up the new
  // version within their poll period (1 s): vpcp no longer sends to mic and
  // refuses mic's server as a peer.
  uint64_t v2 = ConfVersion("vpcp");
  absl::Time removed_at = absl::Now();
  axis::testing::CommandResult rm = Central(
      {"server", "remove", "--owner", agencies_["mic"].member, "--server-code", "ss1"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  for (const char* key : {"vpcp", "quangninh"}) {
    EXPECT_GT(WaitForVersion(key, v2, absl::Seconds(5)), v2) << key << "\n" << Logs();
  }
  absl::Duration picked_up = absl::Now() - removed_at;
  EXPECT_LT(picked_up, absl::Seconds(4));
  std::fprintf(stderr, "removal picked up by both peers after %s\n",
               absl::FormatDuration(picked_up).c_str());
  auto to_mic = Send("vpcp", {"mic"}, decree);
  EXPECT_NE(to_mic.exit_code, 0);
  EXPECT_THAT(to_mic.err, HasSubstr("security server"));
  grpc::Status from_mic = DeliverAs("mic", "vpcp");
  EXPECT_EQ(from_mic.error_code(), grpc::StatusCode::UNAUTHENTICATED) << from_mic.error_message();
}

TEST_F(CentralIntegrationTest,
       ServersJoinWhenTheCentralComesUpRideOutItsOutageUntilExpiryThenRefuseAndRecover) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  for (const char* key : {"vpcp", "quangninh"}) {
    std::string request = Register(key);
    ASSERT_FALSE(request.empty());
    Approve(request);
  }
  StartFromAnchor("quangninh");
  ASSERT_FALSE(HasFatalFailure());
  std::string doc = SignedDecree();

  // vpcp's server first starts while the central is down: it has no
  // configuration, takes nothing, and joins once the central is up (with
  // the OCSP responder the configuration names for its seal's CA).
  StopCentral();
  StartFromAnchor("vpcp");
  ASSERT_FALSE(HasFatalFailure());
  auto early = Send("vpcp", {"quangninh"}, doc);
  EXPECT_NE(early.exit_code, 0);
  EXPECT_THAT(early.err, HasSubstr("no global configuration"));
  StartCentral();
  ASSERT_FALSE(HasFatalFailure());
  axis::testing::CommandResult joined;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(300));
    joined = Send("vpcp", {"quangninh"}, doc);
  } while (joined.exit_code != 0 && absl::Now() < deadline);
  ASSERT_EQ(joined.exit_code, 0) << joined.err << Logs();
  std::string first(absl::StripAsciiWhitespace(joined.out));
  EXPECT_TRUE(WaitForState("vpcp", first, agencies_["quangninh"].subsystem,
                           RecipientStatus::DELIVERED, absl::Seconds(5)))
      << Logs();

  // Central down: traffic continues on the configuration held.
  StopCentral();
  absl::Time stopped = absl::Now();
  auto sent = Send("vpcp", {"quangninh"}, doc);
  ASSERT_EQ(sent.exit_code, 0) << sent.err << Logs();
  std::string id(absl::StripAsciiWhitespace(sent.out));
  EXPECT_TRUE(WaitForState("vpcp", id, agencies_["quangninh"].subsystem,
                           RecipientStatus::DELIVERED, absl::Seconds(5)))
      << Logs();

  // ... until it expires (at most kValidity after the central stopped).
  axis::testing::CommandResult refused;
  deadline = stopped + kValidity + absl::Seconds(5);
  do {
    absl::SleepFor(absl::Milliseconds(500));
    refused = Send("vpcp", {"quangninh"}, doc);
  } while (refused.exit_code == 0 && absl::Now() < deadline);
  EXPECT_NE(refused.exit_code, 0) << "still sending " << absl::Now() - stopped
                                  << " after the central stopped";
  EXPECT_THAT(refused.err, HasSubstr("expired"));
  EXPECT_GE(absl::Now() - stopped, kValidity - absl::Seconds(3));
  // The peer refuses deliveries too (allow for its own last poll).
  grpc::Status s;
  deadline = absl::Now() + absl::Seconds(3);
  do {
    s = DeliverAs("vpcp", "quangninh");
  } while (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION && absl::Now() < deadline &&
           (absl::SleepFor(absl::Milliseconds(200)), true));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));

  // Central back: both recover without a restart.
  StartCentral();
  ASSERT_FALSE(HasFatalFailure());
  absl::Time back = absl::Now();
  axis::testing::CommandResult again;
  deadline = back + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(300));
    again = Send("vpcp", {"quangninh"}, doc);
  } while (again.exit_code != 0 && absl::Now() < deadline);
  ASSERT_EQ(again.exit_code, 0) << again.err << Logs();
  std::fprintf(stderr, "recovered %s after the central came back\n",
               absl::FormatDuration(absl::Now() - back).c_str());
  std::string id2(absl::StripAsciiWhitespace(again.out));
  EXPECT_TRUE(WaitForState("vpcp", id2, agencies_["quangninh"].subsystem,
                           RecipientStatus::DELIVERED, absl::Seconds(10)))
      << Logs();
}

TEST_F(CentralIntegrationTest,
       AServerRestartedWithoutTheCentralRunsOnItsCacheAfterAKeyRotationAndSaysWhenItExpired) {
  // A new configuration-signing key (trust in it comes from the
  // announcement in a configuration signed by the old one).
  auto gen = axis::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", dir_ + "/new.key.pem", "-out", dir_ + "/new.cert.pem", "-days", "30", "-subj",
       "/CN=Axis Central Configuration Signing 2", "-addext",
       "keyUsage=critical,digitalSignature"},
      "", absl::Seconds(20));
  ASSERT_TRUE(gen.ok() && gen->exit_code == 0) << (gen.ok() ? gen->err : "");
  StopCentral();
  StartCentral("rotation_grace: \"1s\"\n");
  ASSERT_FALSE(HasFatalFailure());
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  for (const char* key : {"vpcp", "quangninh"}) {
    std::string request = Register(key);
    ASSERT_FALSE(request.empty());
    Approve(request);
  }
  StartFromAnchor("vpcp");
  StartFromAnchor("quangninh");
  ASSERT_FALSE(HasFatalFailure());
  std::string doc = SignedDecree();

  // The operator rotates the key; once the new key signs, both servers hold
  // (and cache) a configuration that the anchor's key did not sign.
  axis::testing::CommandResult rotate =
      Central({"key", "rotate", "--key", dir_ + "/new.key.pem", "--cert", dir_ + "/new.cert.pem"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  std::string new_der = CertDerOf(dir_ + "/new.cert.pem");
  std::string cache = dir_ + "/quangninh.db.globalconf";
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool rotated = false;
  while (!rotated && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    absl::StatusOr<SignedGlobalConf> held = central::ReadSignedConf(cache);
    rotated = held.ok() && held->cert_chain_der_size() > 0 && held->cert_chain_der(0) == new_der;
  }
  ASSERT_TRUE(rotated) << Logs();

  // quangninh restarts while the central is down: it runs on its cache.
  StopCentral();
  absl::Time stopped = absl::Now();
  StartFromAnchor("quangninh");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_THAT(Slurp(agencies_["quangninh"].log_path), ::testing::Not(HasSubstr("ignoring cached")));
  auto sent = Send("vpcp", {"quangninh"}, doc);
  ASSERT_EQ(sent.exit_code, 0) << sent.err << Logs();
  std::string id(absl::StripAsciiWhitespace(sent.out));
  EXPECT_TRUE(WaitForState("vpcp", id, agencies_["quangninh"].subsystem,
                           RecipientStatus::DELIVERED, absl::Seconds(5)))
      << Logs();

  // Restarted again after the configuration expired, it says so (rather
  // than that it has none).
  absl::SleepFor(stopped + kValidity + absl::Milliseconds(500) - absl::Now());
  StartFromAnchor("quangninh");
  ASSERT_FALSE(HasFatalFailure());
  // quangninh sends a plain note (vpcp's decree names vpcp as its sender,
  // which quangninh's envelope could not carry: edXML From must match).
  std::string note = dir_ + "/note.txt";
  ASSERT_TRUE(WriteFileAtomic(note, "Quảng Ninh đã nhận quyết định.").ok());
  auto send_note = [&] {
    return Axis("quangninh", {"send", "--server", agencies_["quangninh"].gateway(), "--from",
                              agencies_["quangninh"].subsystem, "--to", agencies_["vpcp"].subsystem,
                              "--type", "notice", "--content-type", "text/plain", note});
  };
  auto refused = send_note();
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("expired"));

  // The central back, both follow the new key without a new anchor.
  StartCentral("rotation_grace: \"1s\"\n");
  ASSERT_FALSE(HasFatalFailure());
  axis::testing::CommandResult again;
  deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(300));
    again = send_note();
  } while (again.exit_code != 0 && absl::Now() < deadline);
  ASSERT_EQ(again.exit_code, 0) << again.err << Logs();
  std::string id2(absl::StripAsciiWhitespace(again.out));
  EXPECT_TRUE(WaitForState("quangninh", id2, agencies_["vpcp"].subsystem,
                           RecipientStatus::DELIVERED, absl::Seconds(10)))
      << Logs();
}

TEST_F(CentralIntegrationTest, ServerRefusesAnAnchorWithoutTheCentralsTlsCaWhenItHasNoConfFile) {
  // The fixture's own anchor names no central TLS CA (it was made for
  // bootstrapping from a file).
  Agency& a = agencies_["mic"];
  WriteAnchorOnlyConfig(a);
  ASSERT_FALSE(HasFatalFailure());
  for (bool check_only : {true, false}) {
    std::vector<std::string> argv = {BinDir() + "/axis-security-server", "--config",
                                     a.config_path};
    if (check_only) {
      argv.push_back("--check-config");
    }
    auto r = axis::testing::RunCommand(argv, "", absl::Seconds(10));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->exit_code, 2) << check_only << r->err;
    EXPECT_THAT(r->err, HasSubstr("central_tls_ca_der")) << check_only;
  }
}

}  // namespace
}  // namespace axis::ss::testing_util
