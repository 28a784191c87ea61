// relay_queue.cc: RelayQueue.
#include "security-server/relay_queue.h"

#include <algorithm>
#include <utility>

namespace axis::ss {

RelayQueue::RelayQueue(int small_calls_per_member, uint64_t small_max, size_t call_rows,
                       uint64_t call_bytes)
    : small_calls_per_member_(std::max(1, small_calls_per_member)),
      small_max_(small_max),
      call_rows_(std::max<size_t>(1, call_rows)),
      call_bytes_(call_bytes) {}

std::string RelayQueue::MemberOf(const std::string& recipient) {
  size_t slash = recipient.rfind('/');
  return slash == std::string::npos ? recipient : recipient.substr(0, slash);
}

void RelayQueue::Push(OutboxRow row) {
  Member& m = members_[MemberOf(row.recipient)];
  if (row.payload_size <= small_max_) {
    ++m.small_rows;
    m.small_bytes += row.payload_size;
  }
  m.rows.push_back(std::move(row));
  ++size_;
}

bool RelayQueue::SmallCallMay(const Member& m) const {
  if (m.small_rows == 0) {
    return false;
  }
  const bool full = m.small_rows >= call_rows_ || m.small_bytes >= call_bytes_;
  return m.small_calls < small_calls_per_member_ ||
         (full && m.small_calls == small_calls_per_member_);
}

bool RelayQueue::Runnable(const Member& m) const {
  bool has_large = m.rows.size() > m.small_rows;
  return has_large || SmallCallMay(m);
}

bool RelayQueue::Runnable() const {
  for (const auto& [name, m] : members_) {
    if (Runnable(m)) {
      return true;
    }
  }
  return false;
}

size_t RelayQueue::Ready() const {
  size_t n = 0;
  for (const auto& [name, m] : members_) {
    if (Runnable(m)) {
      n += m.rows.size();
    }
  }
  return n;
}

size_t RelayQueue::QueuedFor(const std::string& member) const {
  auto it = members_.find(member);
  return it == members_.end() ? 0 : it->second.rows.size();
}

RelayQueue::Call RelayQueue::Take() {
  Call call;
  if (members_.empty()) {
    return call;
  }
  // Round robin: the first runnable member after the last one served.
  auto start = members_.upper_bound(last_served_);
  if (start == members_.end()) {
    start = members_.begin();
  }
  auto it = start;
  while (!Runnable(it->second)) {
    ++it;
    if (it == members_.end()) {
      it = members_.begin();
    }
    if (it == start) {
      return call;
    }
  }
  Member& m = it->second;
  call.member = it->first;
  last_served_ = it->first;
  const bool front_small = m.rows.front().payload_size <= small_max_;
  if (front_small && SmallCallMay(m)) {
    call.small = true;
    ++m.small_calls;
    uint64_t bytes = 0;
    for (auto r = m.rows.begin(); r != m.rows.end() && call.rows.size() < call_rows_;) {
      if (r->payload_size > small_max_) {
        ++r;
        continue;
      }
      if (!call.rows.empty() && bytes + r->payload_size > call_bytes_) {
        break;
      }
      bytes += r->payload_size;
      call.rows.push_back(std::move(*r));
      r = m.rows.erase(r);
      --m.small_rows;
    }
    m.small_bytes -= bytes;
  } else {
    auto r = std::find_if(m.rows.begin(), m.rows.end(),
                          [&](const OutboxRow& o) { return o.payload_size > small_max_; });
    call.rows.push_back(std::move(*r));
    m.rows.erase(r);
  }
  size_ -= call.rows.size();
  if (m.rows.empty() && m.small_calls == 0) {
    members_.erase(it);
  }
  return call;
}

void RelayQueue::Done(const Call& call) {
  if (!call.small) {
    return;
  }
  auto it = members_.find(call.member);
  if (it == members_.end()) {
    return;
  }
  --it->second.small_calls;
  if (it->second.rows.empty() && it->second.small_calls == 0) {
    members_.erase(it);
  }
}

}  // namespace axis::ss
