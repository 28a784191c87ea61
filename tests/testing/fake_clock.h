// fake_clock.h: a Clock that tests set by hand.
#ifndef AXIS_TESTS_TESTING_FAKE_CLOCK_H_
#define AXIS_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace axis::testing {

// FakeClock reads `start` (by default the real time when it was made) until
// Set moves it. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::Now()) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace axis::testing

#endif  // AXIS_TESTS_TESTING_FAKE_CLOCK_H_
