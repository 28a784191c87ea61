// clock.h: the time source, injected so tests can move time.
#ifndef AXIS_COMMON_CLOCK_H_
#define AXIS_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace axis {

// Clock gives the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// RealClock is the system's wall clock.
class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace axis

#endif  // AXIS_COMMON_CLOCK_H_
