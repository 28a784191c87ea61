// ss_fixture.h: three real security servers (vpcp, mic, quangninh) on
// loopback, a signed global configuration naming them (written to the file
// each server bootstraps from), an `openssl ocsp` responder for the issuing
// CA, and helpers to run the `axis` CLI as each agency's DMS.
//
// The whole test process first moves into a private network namespace whose
// only interface is loopback (tests/ocsp/responder.h): `openssl ocsp`
// listens on every interface.
#ifndef AXIS_TESTS_SECURITY_SERVER_SS_FIXTURE_H_
#define AXIS_TESTS_SECURITY_SERVER_SS_FIXTURE_H_

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "central-server/globalconf.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"
#include "security_server.grpc.pb.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "signer/keys.h"
#include "tests/ocsp/responder.h"
#include "tests/testing/axis_cli.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::ss::testing_util {

using ::axis::testing::BinDir;
using ::axis::testing::ChildProcess;
using ::axis::testing::PkiPath;

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string CertDerOf(const std::string& pem_path) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> c = signer::LoadPemCertificates(pem_path);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? signer::CertificateDer((*c)[0].get()) : "";
}

struct Agency {
  std::string dir;   // pki-testdata/agencies/<dir>
  std::string code;  // member code
  std::string name;
  std::string member;     // VN/GOV/<code>
  std::string subsystem;  // VN/GOV/<code>/QLVB
  int gateway_port = 0;
  int relay_port = 0;
  std::string config_path;
  std::string log_path;
  std::unique_ptr<ChildProcess> process;
  std::string gateway() const { return absl::StrCat("127.0.0.1:", gateway_port); }
};

class SecurityServerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { netns_error_ = axis::testing::LoopbackOnlyNetworkError(); }

  void SetUp() override {
    if (!netns_error_.empty()) {
      GTEST_SKIP() << "cannot isolate the OCSP responder: " << netns_error_;
    }
    dir_ = axis::testing::MakeTempDir("ss");
    StartOcsp();
    agencies_["vpcp"] = MakeAgency("vpcp", "000.00.00.G22", "Văn phòng Chính phủ");
    agencies_["mic"] = MakeAgency("mic", "000.00.00.G12", "Bộ Thông tin và Truyền thông");
    agencies_["quangninh"] = MakeAgency("quangninh", "000.00.00.H49", "UBND tỉnh Quảng Ninh");
    ASSERT_TRUE(WriteConf(absl::Hours(1)).ok());
    ConfAnchor anchor;
    anchor.set_instance("VN");
    anchor.set_central_address("127.0.0.1:1");  // unused: the conf comes from a file
    anchor.add_signing_certs_der(CertDerOf(PkiPath("central/config-signing.cert.pem")));
    ASSERT_TRUE(central::WriteAnchor(anchor, dir_ + "/anchor.textproto").ok());
  }

  void TearDown() override {
    for (auto& [name, a] : agencies_) {
      a.process.reset();
    }
    ocsp_.reset();
  }

  void StartOcsp() {
    absl::StatusOr<axis::testing::OcspResponder> r = axis::testing::StartOcspResponder();
    ASSERT_TRUE(r.ok()) << r.status();
    ocsp_ = std::move(r->process);
    ocsp_url_ = r->url;
  }

  Agency MakeAgency(const std::string& dir, const std::string& code, const std::string& name) {
    Agency a;
    a.dir = dir;
    a.code = code;
    a.name = name;
    a.member = "VN/GOV/" + code;
    a.subsystem = a.member + "/QLVB";
    a.gateway_port = *axis::testing::PickFreePort();
    a.relay_port = *axis::testing::PickFreePort();
    a.config_path = absl::StrCat(dir_, "/", dir, ".textproto");
    a.log_path = absl::StrCat(dir_, "/", dir, ".log");
    return a;
  }

  // WriteConf signs a configuration naming the three agencies, valid for
  // `validity`, into the file every server bootstraps from.
  absl::Status WriteConf(absl::Duration validity, uint64_t version = 1) {
    GlobalConf conf;
    conf.set_version(version);
    conf.set_instance("VN");
    *conf.mutable_created_at() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(conf_created_));
    for (auto& [key, a] : agencies_) {
      Member* m = conf.add_members();
      *m->mutable_id() = *ParseMemberId(a.member);
      m->set_name(a.name);
      Subsystem* s = conf.add_subsystems();
      *s->mutable_id() = *ParseSubsystemId(a.subsystem);
      s->set_name("Quản lý văn bản");
      axis::SecurityServer* ss = conf.add_security_servers();
      *ss->mutable_owner() = *ParseMemberId(a.member);
      ss->set_server_code("ss1");
      ss->set_address(absl::StrCat("127.0.0.1:", a.relay_port));
      ss->add_auth_cert_sha256(
          signer::Sha256(CertDerOf(PkiPath(absl::StrCat("agencies/", a.dir, "/server.cert.pem")))));
    }
    TrustedCa* root = conf.add_cas();
    root->set_name("Axis Test Root CA G1");
    root->set_cert_der(CertDerOf(PkiPath("roots.pem")));
    root->set_is_root(true);
    TrustedCa* issuing = conf.add_cas();
    issuing->set_name("Axis Test Issuing CA G1");
    issuing->set_cert_der(CertDerOf(PkiPath("chain.pem")));
    issuing->add_ocsp_urls(ocsp_url_);
    if (conf_carries_crl_) {
      std::string pem = Slurp(PkiPath("crl.pem"));
      UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
      UniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
      unsigned char* der = nullptr;
      int len = i2d_X509_CRL(crl.get(), &der);
      issuing->set_crl_der(std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
      OPENSSL_free(der);
    }
    signer::KeySpec spec;
    spec.key = PkiPath("central/config-signing.key.pem");
    spec.cert_path = PkiPath("central/config-signing.cert.pem");
    AXIS_ASSIGN_OR_RETURN(signer::SigningKey key, signer::LoadSigningKey(spec, signer::NoSecret()));
    AXIS_ASSIGN_OR_RETURN(SignedGlobalConf sc, central::SignGlobalConf(conf.SerializeAsString(), key,
                                                                      absl::Now(), validity));
    return central::WriteSignedConf(sc, dir_ + "/globalconf.bin");
  }

  // WriteConfig writes the server config of `a`; `extra` is appended text.
  void WriteConfig(Agency& a, const std::string& extra = "") {
    std::string dms_hex;
    {
      std::string der = CertDerOf(PkiPath(absl::StrCat("agencies/", a.dir, "/dms.cert.pem")));
      static const char kHex[] = "0123456789abcdef";
      for (unsigned char c : signer::Sha256(der)) {
        dms_hex.push_back(kHex[c >> 4]);
        dms_hex.push_back(kHex[c & 15]);
      }
    }
    std::string ag = PkiPath(absl::StrCat("agencies/", a.dir));
    std::string text = absl::StrCat(
        "member_id: \"", a.member, "\"\n", "server_code: \"ss1\"\n",
        "gateway_listen: \"127.0.0.1:", a.gateway_port, "\"\n", "relay_listen: \"127.0.0.1:",
        a.relay_port, "\"\n", "db_path: \"", dir_, "/", a.dir, ".db\"\n", "spool_dir: \"", dir_, "/",
        a.dir, ".spool\"\n", "tls_cert: \"", ag, "/server.cert.pem\"\n", "tls_key: \"", ag,
        "/server.key.pem\"\n", "tls_ca: \"", PkiPath("ca-bundle.pem"), "\"\n",
        "seal_key: \"", seal_key_.count(a.dir) ? seal_key_[a.dir] : ag + "/seal.key.pem", "\"\n",
        "seal_cert: \"", seal_cert_.count(a.dir) ? seal_cert_[a.dir] : ag + "/seal.cert.pem", "\"\n",
        "seal_chain: \"", PkiPath("chain.pem"), "\"\n", "anchor_path: \"", dir_,
        "/anchor.textproto\"\n", "global_conf_file: \"", dir_, "/globalconf.bin\"\n",
        "conf_poll_seconds: 1\n", "clients { cert_sha256_hex: \"", dms_hex, "\" subsystem: \"",
        a.subsystem, "\" }\n", "retry_initial_ms: 100\n", "retry_max_ms: 1000\n", extra);
    std::ofstream(a.config_path) << text;
  }

  void StartServer(const std::string& key, const std::string& extra = "") {
    Agency& a = agencies_[key];
    if (!std::ifstream(a.config_path).good() || !extra.empty()) {
      WriteConfig(a, extra);
    }
    absl::StatusOr<std::unique_ptr<ChildProcess>> p = ChildProcess::Start(
        {BinDir() + "/axis-security-server", "--config", a.config_path}, a.log_path);
    ASSERT_TRUE(p.ok()) << p.status();
    a.process = std::move(*p);
    absl::Status up = axis::testing::WaitForTcpPort(a.gateway_port, absl::Seconds(20), a.process.get());
    ASSERT_TRUE(up.ok()) << up << "\n" << Slurp(a.log_path);
    up = axis::testing::WaitForTcpPort(a.relay_port, absl::Seconds(20), a.process.get());
    ASSERT_TRUE(up.ok()) << up << "\n" << Slurp(a.log_path);
  }

  // Gateway is a gRPC client of agency `key`'s server, as its DMS: it
  // reconnects promptly once the server is back, and takes inbox messages
  // of up to 8 MB.
  std::unique_ptr<AgencyGateway::Stub> Gateway(const std::string& key) {
    const Agency& a = agencies_[key];
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(PkiPath("ca-bundle.pem"));
    o.pem_cert_chain = Slurp(PkiPath(absl::StrCat("agencies/", a.dir, "/dms.cert.pem")));
    o.pem_private_key = Slurp(PkiPath(absl::StrCat("agencies/", a.dir, "/dms.key.pem")));
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    args.SetMaxReceiveMessageSize(8 << 20);
    return AgencyGateway::NewStub(
        grpc::CreateCustomChannel(a.gateway(), grpc::SslCredentials(o), args));
  }

  // SendHeader is the first message of a Send of an octet stream from
  // agency `from`'s subsystem to agency `to`'s.
  SendRequest SendHeader(const std::string& from, const std::string& to,
                         const std::string& reference) {
    SendRequest h;
    *h.mutable_header()->mutable_sender() = *ParseSubsystemId(agencies_[from].subsystem);
    *h.mutable_header()->add_recipients() = *ParseSubsystemId(agencies_[to].subsystem);
    h.mutable_header()->set_content_type("application/octet-stream");
    h.mutable_header()->set_dms_reference(reference);
    return h;
  }

  // SendOne sends `payload` from agency `from`'s subsystem to agency `to`'s
  // through `stub` (a Gateway of `from`); the message id, or the error.
  absl::StatusOr<std::string> SendOne(AgencyGateway::Stub* stub, const std::string& from,
                                      const std::string& to, const std::string& payload,
                                      const std::string& reference) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    SendResponse resp;
    auto w = stub->Send(&ctx, &resp);
    SendRequest h = SendHeader(from, to, reference);
    SendRequest c;
    c.set_chunk(payload);
    if (w->Write(h) && w->Write(c)) {
      w->WritesDone();
    }
    grpc::Status s = w->Finish();
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp.message_id();
  }

  // ServerStatusOf asks agency `key`'s server for its ServerStatus.
  absl::StatusOr<ServerStatusResponse> ServerStatusOf(const std::string& key) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ServerStatusResponse resp;
    grpc::Status s = Gateway(key)->ServerStatus(&ctx, ServerStatusRequest(), &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp;
  }

  // Axis runs the CLI as agency `key`'s DMS.
  axis::testing::CommandResult Axis(const std::string& key, std::vector<std::string> args) {
    Agency& a = agencies_[key];
    std::string ag = PkiPath(absl::StrCat("agencies/", a.dir));
    std::map<std::string, std::string> env = {{"AXIS_TLS_CERT", ag + "/dms.cert.pem"},
                                              {"AXIS_TLS_KEY", ag + "/dms.key.pem"},
                                              {"AXIS_TLS_CA", PkiPath("ca-bundle.pem")}};
    return axis::testing::RunAxis(args, absl::Seconds(120), env);
  }

  // SignedDecree builds an edXML decree from vpcp to `to` (default mic and
  // quangninh), with `attachments`, signed by the vpcp leader, then sealed
  // by vpcp; returns its path.
  std::string SignedDecree(const std::vector<std::string>& to = {"000.00.00.G12", "000.00.00.H49"},
                           const std::vector<std::string>& attachments = {}) {
    std::string base = absl::StrCat(dir_, "/decree", decrees_++);
    std::string in = base + ".edxml";
    std::string ag = PkiPath("agencies/vpcp");
    std::vector<std::string> args = {"edxml", "new", "--from", "000.00.00.G22", "--code",
                                     "123/QĐ-TTg", "--subject",
                                     "Về việc phê duyệt Đề án chuyển đổi số", "-o", in};
    for (const std::string& t : to) {
      args.insert(args.end(), {"--to", t});
    }
    for (const std::string& f : attachments) {
      args.insert(args.end(), {"--attach", f});
    }
    auto r = Axis("vpcp", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string leader = base + ".leader.xml";
    r = Axis("vpcp", {"sign", "--key", ag + "/leader.key.pem", "--cert", ag + "/leader.cert.pem",
                      "--chain", PkiPath("chain.pem"), "--as", "leader", "-o", leader, in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string sealed = base + ".signed.xml";
    r = Axis("vpcp", {"sign", "--key", ag + "/seal.key.pem", "--cert", ag + "/seal.cert.pem",
                      "--chain", PkiPath("chain.pem"), "--as", "agency", "--trust",
                      PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "-o", sealed, leader});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return sealed;
  }

  // TsaSettings is the server-config text that time-stamps the message log
  // every second at the TSA `url`, refusing documents after `grace_seconds`
  // without a time-stamp.
  static std::string TsaSettings(const std::string& url, int grace_seconds) {
    return absl::StrCat("tsa { url: \"", url, "\" roots_file: \"", PkiPath("roots.pem"),
                        "\" intermediates_file: \"", PkiPath("chain.pem"),
                        "\" interval_seconds: 1 }\n", "timestamp_grace_seconds: ", grace_seconds,
                        "\n");
  }

  // SendFileArgs are the `axis` arguments with which `from`'s DMS sends
  // `file` (not XML) to `to`'s subsystem.
  std::vector<std::string> SendFileArgs(const std::string& from, const std::string& to,
                                        const std::string& file) {
    return {"send", "--server", agencies_[from].gateway(), "--from", agencies_[from].subsystem,
            "--to", agencies_[to].subsystem, "--content-type", "application/octet-stream", file};
  }

  // SendBytes has `from`'s DMS send a small non-XML document to `to`'s
  // subsystem; returns the message id, or "" (with a test failure).
  std::string SendBytes(const std::string& from, const std::string& to) {
    std::string file = absl::StrCat(dir_, "/bytes", bytes_sent_++, ".bin");
    std::ofstream(file) << "document " << bytes_sent_;
    auto r = Axis(from, SendFileArgs(from, to, file));
    EXPECT_EQ(r.exit_code, 0) << r.err << Slurp(agencies_[from].log_path);
    return r.exit_code == 0 ? std::string(absl::StripAsciiWhitespace(r.out)) : "";
  }

  // StatusOf asks `key`'s server about message `id`.
  StatusResponse StatusOf(const std::string& key, const std::string& id) {
    auto r = Axis(key, {"status", "--server", agencies_[key].gateway(), "--json", id});
    StatusResponse s;
    if (r.exit_code == 0) {
      google::protobuf::util::JsonParseOptions o;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &s, o).ok()) << r.out;
    }
    return s;
  }

  // For finds `recipient`'s entry in `s`; the pointer lives as long as `s`
  // (keep StatusOf's result in a variable first).
  static const RecipientStatus* For(const StatusResponse& s, const std::string& recipient) {
    for (const RecipientStatus& r : s.recipients()) {
      if (FormatIdentifier(r.recipient()) == recipient) {
        return &r;
      }
    }
    return nullptr;
  }

  // WaitForState polls until `recipient` of message `id` reaches `state`.
  bool WaitForState(const std::string& key, const std::string& id, const std::string& recipient,
                    RecipientStatus::State state, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      StatusResponse s = StatusOf(key, id);
      const RecipientStatus* r = For(s, recipient);
      if (r != nullptr && r->state() == state) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // StatusCodes lists the business statuses `recipient` sent about message
  // `id`, in order, as `key`'s server reports them.
  std::vector<std::string> StatusCodes(const std::string& key, const std::string& id,
                                       const std::string& recipient) {
    std::vector<std::string> out;
    StatusResponse s = StatusOf(key, id);
    if (const RecipientStatus* r = For(s, recipient); r != nullptr) {
      for (const BusinessStatus& b : r->statuses()) {
        out.push_back(b.code());
      }
    }
    return out;
  }

  // WaitForStatusCodes polls until StatusCodes is `want`.
  bool WaitForStatusCodes(const std::string& key, const std::string& id,
                          const std::string& recipient, const std::vector<std::string>& want,
                          absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (StatusCodes(key, id, recipient) == want) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  static std::string netns_error_;
  std::string dir_;
  std::string ocsp_url_;
  std::unique_ptr<ChildProcess> ocsp_;
  std::map<std::string, Agency> agencies_;
  std::map<std::string, std::string> seal_key_, seal_cert_;
  absl::Time conf_created_ = absl::Now();
  int decrees_ = 0;
  int bytes_sent_ = 0;
  bool conf_carries_crl_ = true;  // false: revocation only through OCSP
};

inline std::string SecurityServerFixture::netns_error_;

}  // namespace axis::ss::testing_util

#endif  // AXIS_TESTS_SECURITY_SERVER_SS_FIXTURE_H_
