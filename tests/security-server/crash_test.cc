// crash_test.cc: kill -9 of the sending or the receiving security server in
// the middle of 1,000 sends; after restart every document the sender
// accepted is delivered exactly once, with its own bytes.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

class CrashTest : public SecurityServerFixture {};

TEST_F(CrashTest, EveryAcceptedDocumentIsDeliveredExactlyOnceAfterKillNineOfEitherServer) {
  StartServer("vpcp");
  StartServer("mic");
  constexpr int kDocs = 1000;
  constexpr int kThreads = 16;
  absl::Mutex mu;
  std::map<std::string, std::string> accepted;  // id -> reference
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  absl::Time t0 = absl::Now();
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&] {
      auto stub = Gateway("vpcp");
      while (true) {
        int i = next.fetch_add(1);
        if (i >= kDocs) {
          return;
        }
        std::string ref = absl::StrCat("doc-", i);
        // While the sender is down, retry (bounded); a lost answer may leave
        // an accepted copy we never learn of: it must still be delivered
        // once, which the count below allows for.
        absl::Time deadline = absl::Now() + absl::Seconds(30);
        while (absl::Now() < deadline) {
          absl::StatusOr<std::string> id =
              SendOne(stub.get(), "vpcp", "mic", absl::StrCat("payload of ", ref), ref);
          if (!id.ok() && failures.fetch_add(1) % 500 < 3) {
            std::fprintf(stderr, "%.1f send %s: %s\n", absl::ToDoubleSeconds(absl::Now() - t0), ref.c_str(), id.status().ToString().c_str());
          }
          if (id.ok()) {
            absl::MutexLock l(&mu);
            accepted[*id] = ref;
            break;
          }
          absl::SleepFor(absl::Milliseconds(50));
          stub = Gateway("vpcp");  // a fresh connection, as a DMS would reconnect
        }
        done.fetch_add(1);
      }
    });
  }
  auto wait_done = [&](int n) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (done.load() < n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  };
  auto phase = [&](const char* what) {
    std::fprintf(stderr, "%6.1f s: %s (%d sent)\n", absl::ToDoubleSeconds(absl::Now() - t0), what,
                 done.load());
  };
  wait_done(300);
  phase("kill -9 recipient");
  agencies_["mic"].process->Kill();  // the recipient crashes
  absl::SleepFor(absl::Milliseconds(300));
  StartServer("mic");
  wait_done(600);
  phase("kill -9 sender");
  agencies_["vpcp"].process->Kill();  // the sender crashes
  absl::SleepFor(absl::Milliseconds(300));
  StartServer("vpcp");
  phase("sender restarted");
  for (std::thread& t : senders) {
    t.join();
  }
  phase("all sent");
  ASSERT_EQ(done.load(), kDocs);
  ASSERT_GE(accepted.size(), static_cast<size_t>(kDocs * 9 / 10));

  // Drain mic's inbox until every accepted id is there (bounded).
  auto mic = Gateway("mic");
  std::map<std::string, int> seen;                 // id -> times received
  std::map<std::string, std::string> payload_of;  // id -> bytes
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  size_t missing = accepted.size();
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ReceiveRequest req;
    *req.mutable_subsystem() = *ParseSubsystemId(agencies_["mic"].subsystem);
    auto r = mic->Receive(&ctx, req);
    ReceiveResponse resp;
    std::string current;
    std::vector<std::string> ids;
    while (r->Read(&resp)) {
      if (resp.has_message()) {
        current = resp.message().message_id();
        ids.push_back(current);
        ++seen[current];
        payload_of[current].clear();
      } else {
        payload_of[current] += resp.chunk();
      }
    }
    ASSERT_TRUE(r->Finish().ok());
    for (const std::string& id : ids) {
      grpc::ClientContext actx;
      actx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      AckRequest ack;
      ack.set_message_id(id);
      AckResponse ar;
      ASSERT_TRUE(mic->Ack(&actx, ack, &ar).ok());
    }
    missing = 0;
    for (const auto& [id, ref] : accepted) {
      missing += seen.count(id) == 0 ? 1 : 0;
    }
    if (missing == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  phase("all received");
  EXPECT_EQ(missing, 0u) << Slurp(agencies_["vpcp"].log_path).substr(0, 4000);
  for (const auto& [id, ref] : accepted) {
    ASSERT_EQ(seen[id], 1) << id;
    EXPECT_EQ(payload_of[id], absl::StrCat("payload of ", ref)) << id;
  }
  // Anything received beyond what we know was accepted is an accepted copy
  // whose answer the crash lost: each such document was also delivered once.
  EXPECT_LE(seen.size(), accepted.size() + kThreads);
}

}  // namespace
}  // namespace axis::ss::testing_util
