// relay_queue_test.cc: RelayQueue hands out calls per recipient member: the
// small rows queued for a member together, at most N such calls in flight
// per member, large rows alone and unbounded, members in turn.
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
  RelayQueue q(1, kSmall);
  q.Push(Row("a", kMic, 10));
  q.Push(Row("b", kMicOther, 10));  // another subsystem of the same member
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call first = q.Take(64, 1 << 20);
  EXPECT_THAT(Ids(first), ::testing::ElementsAre("a", "b"));
  EXPECT_TRUE(first.small);
  EXPECT_EQ(first.member, "VN/GOV/000.00.00.G12");
  // What arrives while the call is out waits for it, then leaves together.
  q.Push(Row("c", kMic, 10));
  q.Push(Row("d", kMic, 10));
  EXPECT_FALSE(q.Runnable());
  EXPECT_TRUE(q.Take(64, 1 << 20).rows.empty());
  EXPECT_EQ(q.size(), 2u);
  q.Done(first);
  ASSERT_TRUE(q.Runnable());
  EXPECT_THAT(Ids(q.Take(64, 1 << 20)), ::testing::ElementsAre("c", "d"));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RelayQueueTest, ACallIsBoundedInRowsAndBytesButTakesAtLeastOne) {
  RelayQueue q(2, kSmall);
  for (int i = 0; i < 5; ++i) {
    q.Push(Row(std::to_string(i), kMic, 1000));
  }
  EXPECT_THAT(Ids(q.Take(2, 1 << 20)), ::testing::ElementsAre("0", "1"));
  EXPECT_THAT(Ids(q.Take(64, 1500)), ::testing::ElementsAre("2"));
  // Both calls of the member are out (limit 2).
  EXPECT_FALSE(q.Runnable());
}

TEST(RelayQueueTest, MembersAreIndependentAndServedInTurn) {
  RelayQueue q(1, kSmall);
  q.Push(Row("m1", kMic, 10));
  RelayQueue::Call mic = q.Take(64, 1 << 20);  // mic's call is out (say, its server is down)
  q.Push(Row("m2", kMic, 10));
  q.Push(Row("q1", kQn, 10));
  ASSERT_TRUE(q.Runnable());
  RelayQueue::Call qn = q.Take(64, 1 << 20);
  EXPECT_THAT(Ids(qn), ::testing::ElementsAre("q1"));
  q.Done(qn);
  q.Done(mic);
  q.Push(Row("q2", kQn, 10));
  // Both runnable: the turn goes on from the last member served (quangninh).
  EXPECT_THAT(Ids(q.Take(64, 1 << 20)), ::testing::ElementsAre("m2"));
  EXPECT_THAT(Ids(q.Take(64, 1 << 20)), ::testing::ElementsAre("q2"));
}

TEST(RelayQueueTest, ALargeRowGoesAloneAndIsNotHeldBackByASmallCall) {
  RelayQueue q(1, kSmall);
  q.Push(Row("s1", kMic, 10));
  RelayQueue::Call small = q.Take(64, 1 << 20);
  q.Push(Row("s2", kMic, 10));
  q.Push(Row("big", kMic, uint64_t{1} << 30));
  q.Push(Row("s3", kMic, 10));
  ASSERT_TRUE(q.Runnable());  // the large row may go while the small call is out
  RelayQueue::Call big = q.Take(64, 1 << 20);
  EXPECT_THAT(Ids(big), ::testing::ElementsAre("big"));
  EXPECT_FALSE(big.small);
  EXPECT_FALSE(q.Runnable());
  q.Done(big);  // a large call counts nothing
  EXPECT_FALSE(q.Runnable());
  q.Done(small);
  EXPECT_THAT(Ids(q.Take(64, 1 << 20)), ::testing::ElementsAre("s2", "s3"));
}

TEST(RelayQueueTest, EmptyQueueHasNothingToTake) {
  RelayQueue q(1, kSmall);
  EXPECT_FALSE(q.Runnable());
  EXPECT_TRUE(q.Take(64, 1 << 20).rows.empty());
  EXPECT_EQ(RelayQueue::MemberOf(kMic), "VN/GOV/000.00.00.G12");
}

}  // namespace
}  // namespace axis::ss
