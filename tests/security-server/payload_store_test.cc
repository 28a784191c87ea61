// payload_store_test.cc: payloads of at most Spool::kInlineMax bytes live in
// the database, larger ones in the spool; either way every byte arrives, also
// when the sender relays after a kill -9 (from the store, not from memory)
// and when the recipient's DMS reads after the recipient's kill -9.
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "security-server/store.h"
#include "signer/bytes_sign.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

class PayloadStoreTest : public SecurityServerFixture {
 protected:
  // SpoolFiles lists the payload files (named by SHA-256 hex) in a spool.
  static std::set<std::string> SpoolFiles(const std::string& dir) {
    std::set<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      return out;
    }
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() == 64) {
        out.insert(name);
      }
    }
    ::closedir(d);
    return out;
  }
};

TEST_F(PayloadStoreTest, SmallPayloadsStayInTheDatabaseLargeOnesInTheSpoolAndAllSurviveKillNine) {
  StartServer("vpcp");  // mic stays down: the documents wait in vpcp's outbox
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  const std::vector<size_t> sizes = {0, 10 * 1024, Spool::kInlineMax, Spool::kInlineMax + 1,
                                     300 * 1024};
  std::vector<std::string> ids, contents;
  for (size_t size : sizes) {
    std::string bytes(size, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    std::string path = absl::StrCat(dir_, "/doc-", size, ".bin");
    std::ofstream(path, std::ios::binary) << bytes;
    auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem,
                              "--to", mic.subsystem, "--content-type", "application/octet-stream",
                              path});
    ASSERT_EQ(sent.exit_code, 0) << sent.err << Slurp(vpcp.log_path);
    ids.push_back(std::string(absl::StripAsciiWhitespace(sent.out)));
    contents.push_back(bytes);
  }

  // Only the payloads over the limit became spool files.
  std::set<std::string> want_files;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] > Spool::kInlineMax) {
      want_files.insert(HexOf(signer::Sha256(contents[i])));
    }
  }
  EXPECT_EQ(SpoolFiles(dir_ + "/vpcp.spool"), want_files);

  // The sender crashes before relaying; after its restart the relay reads
  // the small payloads back from its database.
  agencies_["vpcp"].process->Kill();
  StartServer("vpcp");
  StartServer("mic");
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED,
                             absl::Seconds(20)))
        << id << "\n" << Slurp(vpcp.log_path) << Slurp(mic.log_path);
  }
  EXPECT_EQ(SpoolFiles(dir_ + "/mic.spool"), want_files);

  // The recipient crashes; its DMS then reads every document, byte for byte.
  agencies_["mic"].process->Kill();
  StartServer("mic");
  std::string out = axis::testing::MakeTempDir("payload-inbox");
  auto inbox = Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem,
                            "-o", out});
  ASSERT_EQ(inbox.exit_code, 0) << inbox.err << Slurp(mic.log_path);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(Slurp(out + "/" + ids[i] + ".payload"), contents[i]) << "payload of " << sizes[i]
                                                                    << " bytes";
  }
  (void)axis::testing::RunCommand({"rm", "-rf", out});
}

// A spool file that lost its end (a disk fault, a careless operator) makes
// the relay give up each attempt at once, saying so; the recipient never
// waits for the missing bytes until a deadline, and stores nothing.
TEST_F(PayloadStoreTest, ARelayWhoseSpoolFileIsShortSaysSoAndDeliversNothing) {
  StartServer("vpcp");  // mic down: the document waits in vpcp's outbox
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  std::string bytes(300 * 1024, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  std::string path = dir_ + "/short.bin";
  std::ofstream(path, std::ios::binary) << bytes;
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, "--content-type", "application/octet-stream", path});
  ASSERT_EQ(sent.exit_code, 0) << sent.err << Slurp(vpcp.log_path);
  std::string id(absl::StripAsciiWhitespace(sent.out));
  std::string spooled = dir_ + "/vpcp.spool/" + HexOf(signer::Sha256(bytes));
  ASSERT_EQ(::truncate(spooled.c_str(), 100 * 1024), 0) << spooled;

  StartServer("mic");
  std::string reason;
  RecipientStatus::State state = RecipientStatus::ACCEPTED;
  for (absl::Time end = absl::Now() + absl::Seconds(20); absl::Now() < end;
       absl::SleepFor(absl::Milliseconds(200))) {
    StatusResponse st = StatusOf("vpcp", id);
    if (st.recipients_size() == 1) {
      reason = st.recipients(0).reason();
      state = st.recipients(0).state();
    }
    if (reason.find("is short") != std::string::npos) {
      break;
    }
  }
  EXPECT_NE(reason.find("the spool file of " + id + " is short"), std::string::npos)
      << reason << "\n" << Slurp(vpcp.log_path);
  EXPECT_NE(state, RecipientStatus::DELIVERED);
  EXPECT_TRUE(SpoolFiles(dir_ + "/mic.spool").empty());
}

}  // namespace
}  // namespace axis::ss::testing_util
