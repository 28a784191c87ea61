// tsa_process.h: a real axis-tsa process for tests of its clients,
// optionally under libfaketime (a TSA whose clock is wrong or in the past is
// a fault of the real process, not a mock).
#ifndef AXIS_TESTS_TSA_TSA_PROCESS_H_
#define AXIS_TESTS_TSA_TSA_PROCESS_H_

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "tests/testing/process.h"

namespace axis::testing {

inline constexpr char kTestTsaPolicy[] = "1.3.6.1.4.1.99999.1.1";

// TsaProcess is a running axis-tsa and its URL.
struct TsaProcess {
  std::unique_ptr<ChildProcess> process;
  std::string url;
  std::string log;
};

// TsaFiles is what an axis-tsa runs from: its binary and PEM files.
struct TsaFiles {
  std::string binary;  // build/bin/axis-tsa
  std::string key;
  std::string cert;
  std::string chain;
};

// TestPkiTsa is the test PKI's TSA (pki-testdata/tsa) run by `bin_dir`/axis-tsa.
inline TsaFiles TestPkiTsa(const std::string& bin_dir, const std::string& pki_dir) {
  return {bin_dir + "/axis-tsa", pki_dir + "/tsa/tsa.key.pem", pki_dir + "/tsa/tsa.cert.pem",
          pki_dir + "/chain.pem"};
}

// LibFaketime is the libfaketime (multi-threaded variant) to preload, or ""
// when it is not installed.
inline std::string LibFaketime() {
  const std::string path = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  return ::access(path.c_str(), R_OK) == 0 ? path : "";
}

// TsaProcessOptions says how StartTsaProcess runs axis-tsa.
struct TsaProcessOptions {
  // clock_start, when not InfinitePast, is where the TSA's clock starts
  // (libfaketime preloaded through `env`, which execs axis-tsa in the same
  // process, so stopping the child stops the TSA; the `faketime` wrapper
  // would fork it and leave it behind).
  absl::Time clock_start = absl::InfinitePast();
  // port on 127.0.0.1; 0 lets the kernel choose (read back from the
  // "listening" line). A fixed port lets a test restart the TSA where its
  // clients already point.
  int port = 0;
  // dir holds the configuration and the serial file; "" makes a new
  // temporary directory. Reusing one keeps the serial numbers counting
  // across restarts.
  std::string dir;
  // log receives stdout and stderr; "" means DIR/tsa.log.
  std::string log;
};

// StartTsaProcess runs axis-tsa with `files` as `options` say and returns
// once it accepts connections: UNAVAILABLE (with its log) if it exited,
// DEADLINE_EXCEEDED if it did not report its port within 20 s,
// FAILED_PRECONDITION if a clock_start needs libfaketime and it is missing.
inline absl::StatusOr<TsaProcess> StartTsaProcess(const TsaFiles& files,
                                                  const TsaProcessOptions& options) {
  std::string dir = options.dir.empty() ? MakeTempDir("tsa-proc") : options.dir;
  std::string config = dir + "/tsa.textproto";
  std::string text = absl::StrCat(
      "listen: \"127.0.0.1:", options.port, "\"\nkey_file: \"", files.key, "\"\ncert_file: \"",
      files.cert, "\"\nchain_files: \"", files.chain, "\"\npolicy_oid: \"", kTestTsaPolicy,
      "\"\naccuracy_seconds: 1\nserial_file: \"", dir, "/serial\"\n");
  if (absl::Status s = WriteFileAtomic(config, text); !s.ok()) {
    return s;
  }
  std::vector<std::string> argv;
  if (options.clock_start != absl::InfinitePast()) {
    if (LibFaketime().empty()) {
      return absl::FailedPreconditionError("libfaketime is not installed");
    }
    argv = {"env", "TZ=UTC", "LD_PRELOAD=" + LibFaketime(),
            "FAKETIME=@" + absl::FormatTime("%Y-%m-%d %H:%M:%S", options.clock_start,
                                            absl::UTCTimeZone())};
  }
  argv.push_back(files.binary);
  argv.push_back("--config");
  argv.push_back(config);
  TsaProcess t;
  t.log = options.log.empty() ? dir + "/tsa.log" : options.log;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv, t.log);
  if (!child.ok()) {
    return child.status();
  }
  t.process = std::move(*child);
  constexpr absl::string_view kReady = "axis-tsa listening on 127.0.0.1:";
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  int port = 0;
  while (port == 0) {
    absl::StatusOr<std::string> out = ReadFile(t.log);
    if (out.ok()) {
      for (absl::string_view line : absl::StrSplit(*out, '\n')) {
        if (absl::StartsWith(line, kReady)) {
          (void)absl::SimpleAtoi(line.substr(kReady.size()), &port);
        }
      }
    }
    if (port != 0) {
      break;
    }
    if (!t.process->Running()) {
      return absl::UnavailableError(
          absl::StrCat("axis-tsa exited: ", ReadFile(t.log).value_or("(no log)")));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("axis-tsa did not report its port");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (absl::Status s = WaitForTcpPort(port, absl::Seconds(10), t.process.get()); !s.ok()) {
    return s;
  }
  t.url = absl::StrCat("http://127.0.0.1:", port, "/");
  return t;
}

// StartTsaProcess runs axis-tsa on a port the kernel chooses, its state in
// a new temporary directory, its clock starting at `clock_start` (see
// TsaProcessOptions).
inline absl::StatusOr<TsaProcess> StartTsaProcess(const TsaFiles& files,
                                                  absl::Time clock_start = absl::InfinitePast()) {
  TsaProcessOptions options;
  options.clock_start = clock_start;
  return StartTsaProcess(files, options);
}

}  // namespace axis::testing

#endif  // AXIS_TESTS_TSA_TSA_PROCESS_H_
