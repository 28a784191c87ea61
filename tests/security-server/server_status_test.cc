// server_status_test.cc: `axis server status` against real security servers
// (configuration, OCSP, queues, whether new documents are accepted, exit
// codes), and grpc.health.v1.Health on both of a server's ports.
#include <string>
#include <vector>

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/conversions.h"
#include "tests/security-server/log_fixture.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ServerStatusTest : public SecurityServerFixture {
 protected:
  // StatusJson runs `axis server status --json` as `key`'s DMS and parses
  // its output; `exit_code` receives the command's exit code.
  ServerStatusResponse StatusJson(const std::string& key, int* exit_code) {
    auto r = Axis(key, {"server", "status", "--server", agencies_[key].gateway(), "--json"});
    *exit_code = r.exit_code;
    ServerStatusResponse s;
    auto parsed = google::protobuf::util::JsonStringToMessage(r.out, &s);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << r.out << r.err;
    return s;
  }

  // Health calls grpc.health.v1.Health/Check for the whole server (service
  // "") on 127.0.0.1:`port` with `cert_base`.{cert,key}.pem of the test PKI
  // as the TLS client, and returns the ServingStatus number (1 SERVING), or
  // -1 with the failure in `error`. The health proto is not installed with
  // Debian's gRPC: the call is generic and the answer (field 1, an enum) is
  // read with protobuf's wire-format parser.
  int Health(int port, const std::string& cert_base, std::string* error) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(PkiPath("ca-bundle.pem"));
    o.pem_cert_chain = Slurp(PkiPath(cert_base + ".cert.pem"));
    o.pem_private_key = Slurp(PkiPath(cert_base + ".key.pem"));
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(o));
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");  // HealthCheckRequest{service: ""}
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(15))) {
      *error = "no answer within 15 s";
      return -1;
    }
    if (!status.ok()) {
      *error = status.error_message();
      return -1;
    }
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) {
      *error = "cannot read the response";
      return -1;
    }
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    google::protobuf::UnknownFieldSet fields;
    if (!fields.ParseFromString(bytes)) {
      *error = "response does not parse";
      return -1;
    }
    for (int i = 0; i < fields.field_count(); ++i) {
      if (fields.field(i).number() == 1 &&
          fields.field(i).type() == google::protobuf::UnknownField::TYPE_VARINT) {
        return static_cast<int>(fields.field(i).varint());
      }
    }
    return 0;  // proto3: an absent enum is UNKNOWN (0)
  }
};

TEST_F(ServerStatusTest, FreshServerReportsItsConfigurationAndEmptyQueuesThenCountsADelivery) {
  StartServer("vpcp");
  StartServer("mic");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];

  int code = -1;
  ServerStatusResponse s = StatusJson("vpcp", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(FormatIdentifier(s.member()), vpcp.member);
  EXPECT_EQ(s.server_code(), "ss1");
  EXPECT_TRUE(s.global_conf().present());
  EXPECT_TRUE(s.global_conf().valid());
  EXPECT_EQ(s.global_conf().version(), 1u);
  EXPECT_EQ(s.global_conf().instance(), "VN");
  EXPECT_EQ(s.global_conf().error(), "");
  // WriteConf(1 h) signed it just before the server started.
  absl::Duration left = FromProtoTime(s.global_conf().expires_at()) - absl::Now();
  EXPECT_GT(left, absl::Minutes(55));
  EXPECT_LE(left, absl::Hours(1));
  EXPECT_TRUE(s.accepting_documents());
  EXPECT_EQ(s.refusal_reason(), "");
  EXPECT_FALSE(s.timestamping().enabled());  // the fixture configures no TSA
  EXPECT_TRUE(s.ocsp().enabled());
  EXPECT_FALSE(s.ocsp().has_fresh_until());  // nothing relayed yet
  EXPECT_EQ(s.queues().outbox_accepted() + s.queues().outbox_relayed() +
                s.queues().outbox_delivered() + s.queues().outbox_failed() +
                s.queues().inbox_pending() + s.queues().inbox_acknowledged(),
            0u);

  auto text = Axis("vpcp", {"server", "status", "--server", vpcp.gateway()});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("configuration: version 1 (VN), valid until "));
  EXPECT_THAT(text.out, HasSubstr("outbox 0 accepted"));
  EXPECT_THAT(text.out, HasSubstr("\naccepting documents\n"));

  std::string file = dir_ + "/doc.bin";
  std::ofstream(file) << "document";
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, "--content-type", "application/octet-stream", file});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    s = StatusJson("vpcp", &code);
    if (s.queues().outbox_delivered() == 1) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(s.queues().outbox_delivered(), 1u) << Slurp(vpcp.log_path);
  EXPECT_EQ(s.queues().outbox_accepted() + s.queues().outbox_relayed() + s.queues().outbox_failed(),
            0u);
  // Relaying fetched the seal's OCSP response from the conf's responder.
  ASSERT_TRUE(s.ocsp().has_fresh_until());
  EXPECT_GT(FromProtoTime(s.ocsp().fresh_until()), FromProtoTime(s.now()));
  EXPECT_EQ(s.ocsp().url(), ocsp_url_);
  EXPECT_EQ(s.ocsp().last_error(), "");
  text = Axis("vpcp", {"server", "status", "--server", vpcp.gateway()});
  EXPECT_THAT(text.out, HasSubstr("OCSP: fresh until "));
  EXPECT_THAT(text.out, HasSubstr("1 delivered"));

  // mic holds it, unacknowledged, until its DMS acknowledges it.
  ServerStatusResponse m = StatusJson("mic", &code);
  EXPECT_EQ(m.queues().inbox_pending(), 1u);
  EXPECT_EQ(m.queues().inbox_acknowledged(), 0u);
  std::string id(absl::StripAsciiWhitespace(sent.out));
  auto ack = Axis("mic", {"ack", "--server", mic.gateway(), id});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;
  m = StatusJson("mic", &code);
  EXPECT_EQ(m.queues().inbox_pending(), 0u);
  EXPECT_EQ(m.queues().inbox_acknowledged(), 1u);
}

TEST_F(ServerStatusTest, ExpiredConfigurationMakesStatusExitOneAndNameTheExpiry) {
  ASSERT_TRUE(WriteConf(absl::Seconds(2)).ok());
  StartServer("vpcp");
  const Agency& vpcp = agencies_["vpcp"];
  axis::testing::CommandResult r;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    r = Axis("vpcp", {"server", "status", "--server", vpcp.gateway()});
    if (r.exit_code != 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("configuration: version 1 (VN) EXPIRED: "));
  EXPECT_THAT(r.out, HasSubstr("global configuration version 1 expired at "));
  EXPECT_THAT(r.out, HasSubstr("REFUSING documents: global configuration version 1 expired"));
  EXPECT_THAT(r.out, Not(HasSubstr("\naccepting documents")));

  // The JSON form says the same, and also exits 1.
  int code = -1;
  ServerStatusResponse s = StatusJson("vpcp", &code);
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(s.global_conf().present());
  EXPECT_FALSE(s.global_conf().valid());
  EXPECT_THAT(s.global_conf().error(), HasSubstr("expired"));
  EXPECT_LT(FromProtoTime(s.global_conf().expires_at()), FromProtoTime(s.now()));
  EXPECT_FALSE(s.accepting_documents());
  EXPECT_THAT(s.refusal_reason(), HasSubstr("expired"));
}

TEST_F(ServerStatusTest, ReportsTimeStampsAndRefusesDocumentsOnceTheyAreOverdue) {
  axis::ss::test::TsaProcess tsa(dir_);
  tsa.Start();
  StartServer("vpcp", TsaSettings(tsa.url(), 2));
  StartServer("mic");
  const Agency& vpcp = agencies_["vpcp"];
  std::string file = dir_ + "/doc.bin";
  std::ofstream(file) << "document";
  std::vector<std::string> send = SendFileArgs("vpcp", "mic", file);
  auto sent = Axis("vpcp", send);
  ASSERT_EQ(sent.exit_code, 0) << sent.err;

  // The accept, send and receipt records get stamped.
  int code = -1;
  ServerStatusResponse s;
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    s = StatusJson("vpcp", &code);
  } while ((s.queues().outbox_delivered() != 1 || s.timestamping().unstamped_records() != 0) &&
           absl::Now() < deadline);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(s.timestamping().enabled());
  EXPECT_EQ(s.timestamping().tsa_url(), tsa.url());
  EXPECT_EQ(s.timestamping().unstamped_records(), 0);
  EXPECT_EQ(s.timestamping().last_error(), "");
  EXPECT_EQ(s.timestamping().grace_seconds(), 2u);
  EXPECT_LE(FromProtoTime(s.now()) - FromProtoTime(s.timestamping().last_stamp()),
            absl::Seconds(10));
  EXPECT_TRUE(s.accepting_documents());

  // The TSA goes away; the next document's records wait, and after the
  // grace the server refuses new documents and says why.
  tsa.Stop();
  sent = Axis("vpcp", send);
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  axis::testing::CommandResult r;
  deadline = absl::Now() + absl::Seconds(15);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    r = Axis("vpcp", {"server", "status", "--server", vpcp.gateway()});
  } while (r.exit_code == 0 && absl::Now() < deadline);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("TSA ", tsa.url(), ", error: ")));
  EXPECT_THAT(r.out, HasSubstr("REFUSING documents: the message log has had no time-stamp since"));
  s = StatusJson("vpcp", &code);
  EXPECT_EQ(code, 1);
  EXPECT_GT(s.timestamping().unstamped_records(), 0);
  EXPECT_NE(s.timestamping().last_error(), "");
  EXPECT_TRUE(s.global_conf().valid());  // the configuration is not the reason
  EXPECT_FALSE(s.accepting_documents());
}

TEST_F(ServerStatusTest, JsonFormPrintsEveryFieldIncludingZeroesAndFalse) {
  StartServer("vpcp");
  auto r = Axis("vpcp", {"server", "status", "--server", agencies_["vpcp"].gateway(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ServerStatusResponse s;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &s).ok()) << r.out;
  EXPECT_TRUE(s.accepting_documents());
  // Field names as in the proto; zero counts and false flags are present.
  EXPECT_THAT(r.out, HasSubstr("\"accepting_documents\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"outbox_delivered\":\"0\""));
  EXPECT_THAT(r.out, HasSubstr("\"enabled\":false"));
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one JSON document on one line";
}

TEST_F(ServerStatusTest, UnreachableServerExitsThreeAndAStrangerIsRefused) {
  StartServer("vpcp");
  int unused = *axis::testing::PickFreePort();
  auto down = Axis("vpcp", {"server", "status", "--server", absl::StrCat("127.0.0.1:", unused)});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  // mic's DMS is not a local client of vpcp's server.
  auto stranger = Axis("mic", {"server", "status", "--server", agencies_["vpcp"].gateway()});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out << stranger.err;
  EXPECT_THAT(stranger.err, HasSubstr("is not a local client"));
  EXPECT_EQ(stranger.out, "");
}

TEST_F(ServerStatusTest, GatewayAndRelayPortsAnswerTheStandardHealthCheckWithServing) {
  StartServer("vpcp");
  const Agency& vpcp = agencies_["vpcp"];
  std::string error;
  EXPECT_EQ(Health(vpcp.gateway_port, "agencies/vpcp/dms", &error), 1) << error;
  EXPECT_EQ(Health(vpcp.relay_port, "agencies/mic/server", &error), 1) << error;
  vpcp.process->Stop();
  EXPECT_EQ(Health(vpcp.gateway_port, "agencies/vpcp/dms", &error), -1);
}

}  // namespace
}  // namespace axis::ss::testing_util
