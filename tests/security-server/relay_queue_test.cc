// relay_queue_test.cc: RelayQueue hands out calls per recipient member: the
// small rows queued for a member together, at most N such calls in flight
// per member (one more only with a full call waiting), large rows alone and
// unbounded, members in turn.
#include "security-server/relay_queue.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace axis::ss {
namespace {

constexpr uint64_t kSmall = 64 * 1024;
const char kMic[] = "VN/GOV/000.00.00.G12/QLVB";
const char kMicOther[] = "VN/GOV/000.00.00.G12/VANTHU";
const char kQn[] = "VN/GOV/000.00.00.H49/QLVB";

OutboxRow Row(const std::string& id, const std::string& recipient, uint64_t size) {
  OutboxRow r;
  r.message_id = id;
  r.recipient = recipient;
  r.payload_size = size;
  return r;
}

std::vector<std::string> Ids(const RelayQueue::Call& c) {
  std::vector<std::string> out;
  for (const OutboxRow& r : c.rows) {
    out.push_back(r.message_id);
  }
  return out;
}

TEST(RelayQueueTest, SmallRowsForOneMemberLeaveTogetherAndOneCallAtATime) {
  RelayQueue q(1, kSmall, 64, 1 << 20);
  q.Push(Row("a", kMic, 10));
  q.Push(Row("b", kMicOther, 10));  // another subsystem of the same member
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call first = q.Take();
  EXPECT_THAT(Ids(first), ::testing::ElementsAre("a", "b"));
  EXPECT_TRUE(first.small);
  EXPECT_EQ(first.member, "VN/GOV/000.00.00.G12");
  // What arrives while the call is out waits for it, then leaves together.
  q.Push(Row("c", kMic, 10));
  q.Push(Row("d", kMic, 10));
  EXPECT_FALSE(q.Runnable());
  EXPECT_TRUE(q.Take().rows.empty());
  EXPECT_EQ(q.size(), 2u);
  q.Done(first);
  ASSERT_TRUE(q.Runnable());
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("c", "d"));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RelayQueueTest, ACallIsBoundedInRowsAndBytesButTakesAtLeastOne) {
  RelayQueue by_rows(2, kSmall, 2, 1 << 20);
  RelayQueue by_bytes(2, kSmall, 64, 1500);
  for (int i = 0; i < 5; ++i) {
    by_rows.Push(Row(std::to_string(i), kMic, 1000));
    by_bytes.Push(Row(std::to_string(i), kMic, 1000));
  }
  EXPECT_THAT(Ids(by_rows.Take()), ::testing::ElementsAre("0", "1"));
  EXPECT_THAT(Ids(by_bytes.Take()), ::testing::ElementsAre("0"));
  EXPECT_THAT(Ids(by_bytes.Take()), ::testing::ElementsAre("1"));
  // Both calls of the member are out (limit 2); the 3 rows waiting fill a
  // call (1,500 bytes), so one more may go, and then no other.
  ASSERT_TRUE(by_bytes.Runnable());
  EXPECT_THAT(Ids(by_bytes.Take()), ::testing::ElementsAre("2"));
  EXPECT_FALSE(by_bytes.Runnable());
  EXPECT_TRUE(by_bytes.Take().rows.empty());
}

TEST(RelayQueueTest, OneCallBeyondTheBoundGoesOnlyWithAFullCallWaiting) {
  RelayQueue q(1, kSmall, 3, 1 << 20);
  q.Push(Row("a", kMic, 10));
  RelayQueue::Call first = q.Take();
  EXPECT_THAT(Ids(first), ::testing::ElementsAre("a"));
  q.Push(Row("b", kMic, 10));
  q.Push(Row("c", kMic, 10));
  EXPECT_FALSE(q.Runnable());  // two rows: not a full call, they wait
  q.Push(Row("d", kMic, 10));
  ASSERT_TRUE(q.Runnable());  // three: a full call goes beside the first
  RelayQueue::Call second = q.Take();
  EXPECT_THAT(Ids(second), ::testing::ElementsAre("b", "c", "d"));
  q.Push(Row("e", kMic, 10));
  q.Push(Row("f", kMic, 10));
  q.Push(Row("g", kMic, 10));
  q.Push(Row("h", kMic, 10));
  EXPECT_FALSE(q.Runnable());  // full, but two calls are out: no third
  q.Done(first);
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call third = q.Take();
  EXPECT_THAT(Ids(third), ::testing::ElementsAre("e", "f", "g"));
  EXPECT_FALSE(q.Runnable());  // "h" alone is not a full call; two are out again
  q.Done(second);
  EXPECT_FALSE(q.Runnable());  // and one call is out: the bound
  q.Done(third);
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("h"));
}

TEST(RelayQueueTest, AFullCallCountsPayloadBytesToo) {
  RelayQueue q(1, kSmall, 64, 2500);
  q.Push(Row("a", kMic, 1000));
  RelayQueue::Call first = q.Take();
  q.Push(Row("b", kMic, 1000));
  EXPECT_FALSE(q.Runnable());
  q.Push(Row("c", kMic, 1500));  // 2,500 bytes waiting: a full call
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call second = q.Take();
  EXPECT_THAT(Ids(second), ::testing::ElementsAre("b", "c"));
  q.Done(first);
  q.Push(Row("d", kMic, 2000));  // taken rows no longer count: 2,000 < 2,500
  EXPECT_FALSE(q.Runnable());
  q.Done(second);
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("d"));
}

TEST(RelayQueueTest, MembersAreIndependentAndServedInTurn) {
  RelayQueue q(1, kSmall, 64, 1 << 20);
  q.Push(Row("m1", kMic, 10));
  RelayQueue::Call mic = q.Take();  // mic's call is out (say, its server is down)
  q.Push(Row("m2", kMic, 10));
  q.Push(Row("q1", kQn, 10));
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call qn = q.Take();
  EXPECT_THAT(Ids(qn), ::testing::ElementsAre("q1"));
  q.Done(qn);
  q.Done(mic);
  q.Push(Row("q2", kQn, 10));
  // Both runnable: the turn goes on from the last member served (quangninh).
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("m2"));
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("q2"));
}

TEST(RelayQueueTest, ALargeRowGoesAloneAndIsNotHeldBackByASmallCall) {
  RelayQueue q(1, kSmall, 64, 1 << 20);
  q.Push(Row("s1", kMic, 10));
  RelayQueue::Call small = q.Take();
  q.Push(Row("s2", kMic, 10));
  q.Push(Row("big", kMic, uint64_t{1} << 30));
  q.Push(Row("s3", kMic, 10));
  ASSERT_TRUE(q.Runnable());  // the large row may go while the small call is out
  RelayQueue::Call big = q.Take();
  EXPECT_THAT(Ids(big), ::testing::ElementsAre("big"));
  EXPECT_FALSE(big.small);
  EXPECT_FALSE(q.Runnable());
  q.Done(big);  // a large call counts nothing
  EXPECT_FALSE(q.Runnable());
  q.Done(small);
  EXPECT_THAT(Ids(q.Take()), ::testing::ElementsAre("s2", "s3"));
}

TEST(RelayQueueTest, ReadyCountsOnlyRowsOfMembersThatCouldTakeACallNow) {
  RelayQueue q(1, kSmall, 64, 1 << 20);
  q.Push(Row("m1", kMic, 10));
  RelayQueue::Call mic = q.Take();  // mic's call is out: its server hangs, say
  q.Push(Row("m2", kMic, 10));
  q.Push(Row("m3", kMic, 10));
  q.Push(Row("q1", kQn, 10));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.Ready(), 1u);  // q1; m2 and m3 wait behind mic's call
  EXPECT_EQ(q.QueuedFor("VN/GOV/000.00.00.G12"), 2u);
  EXPECT_EQ(q.QueuedFor("VN/GOV/000.00.00.H49"), 1u);
  EXPECT_EQ(q.QueuedFor("VN/GOV/000.00.00.G01"), 0u);
  q.Done(mic);
  EXPECT_EQ(q.Ready(), 3u);
}

TEST(RelayQueueTest, EmptyQueueHasNothingToTake) {
  RelayQueue q(1, kSmall, 64, 1 << 20);
  EXPECT_FALSE(q.Runnable());
  EXPECT_TRUE(q.Take().rows.empty());
  EXPECT_EQ(RelayQueue::MemberOf(kMic), "VN/GOV/000.00.00.G12");
}

}  // namespace
}  // namespace axis::ss
