// relay_queue.h: the outbox rows waiting for a relay worker, per recipient
// member, with a bound on the calls of small rows in flight to each member.
//
// Why a bound: with 16 workers each taking the row that just arrived, every
// document went in its own relay call, and the recipient signed one receipt
// and committed once per call. With one call of small rows in flight per
// member, the rows that arrive meanwhile wait in the queue and leave
// together in the next DeliverBatch: at ~1,000 documents/s the batches grow
// to tens of rows, one receipt signature and one commit for all of them
// (ss_bench: 1,170 -> ~1,850 documents/s end to end, CPU per document
// 1.37 -> ~0.8 ms). Large rows (streamed by Deliver, for seconds) are not
// bound by it, so a gigabyte never holds back a member's small documents,
// and members are independent: an unreachable one holds at most its own
// calls' workers.
//
// One call beyond the bound may go, but only with a full call's worth of
// small rows (call_rows rows or call_bytes of payload) waiting. Under more
// load than one call at a time carries, the member's backlog otherwise grew
// for as long as the load lasted (ss_bench unpaced, 60 s: accepted 2,105/s,
// delivered 2,066/s, end-to-end p99 1.85 s); with a full batch ready a
// second call costs no batching (the call is full either way): delivered
// as fast as accepted, p99 112-125 ms, and 2,177-2,303 documents/s in 30-
// and 60-s runs (the final code of session 7). At lower load no batch fills while a call is out, so nothing
// changes there. A member whose server hangs holds one more worker, until
// the call's deadline.
//
// RelayQueue is not thread-safe: the server guards it with its mutex.
#ifndef AXIS_SECURITY_SERVER_RELAY_QUEUE_H_
#define AXIS_SECURITY_SERVER_RELAY_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "security-server/store.h"

namespace axis::ss {

class RelayQueue {
 public:
  // `small_calls_per_member`: calls of small rows in flight to one member,
  // at most (>= 1), and one more with a full call waiting. `small_max`: the
  // largest payload of a small row. `call_rows` and `call_bytes`: the rows
  // and payload bytes of one small call, at most (a call takes at least one
  // row).
  RelayQueue(int small_calls_per_member, uint64_t small_max, size_t call_rows, uint64_t call_bytes);

  // Size is the number of rows queued.
  size_t size() const { return size_; }

  // Push queues a row for its recipient's member.
  void Push(OutboxRow row);

  // Runnable says whether Take would return rows now.
  bool Runnable() const;

  // Ready is the number of rows queued for members that could take a call
  // now: rows behind a member's calls in flight are not counted.
  size_t Ready() const;

  // QueuedFor is the number of rows queued for `member`.
  size_t QueuedFor(const std::string& member) const;

  // Call is what one relay worker delivers in one call.
  struct Call {
    std::string member;
    bool small = false;  // small rows: Done must be called when finished
    std::vector<OutboxRow> rows;
  };
  // Take returns, from the next runnable member (round robin), either a
  // large row alone or its queued small rows in order (at most call_rows
  // rows and call_bytes of payload; at least one), counting a small call in
  // flight. An empty call when nothing is runnable.
  Call Take();

  // Done ends a small call that Take counted.
  void Done(const Call& call);

  // MemberOf is the member part of a recipient subsystem identifier (its
  // text up to the last '/').
  static std::string MemberOf(const std::string& recipient);

 private:
  struct Member {
    std::deque<OutboxRow> rows;
    size_t small_rows = 0;
    uint64_t small_bytes = 0;  // the payload bytes of the small rows
    int small_calls = 0;
  };
  bool Runnable(const Member& m) const;
  // SmallCallMay says whether a call of m's small rows may go now.
  bool SmallCallMay(const Member& m) const;

  int small_calls_per_member_;
  uint64_t small_max_;
  size_t call_rows_;
  uint64_t call_bytes_;
  std::map<std::string, Member> members_;  // members with rows or calls
  std::string last_served_;
  size_t size_ = 0;
};

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_RELAY_QUEUE_H_
