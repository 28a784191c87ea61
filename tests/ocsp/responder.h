// responder.h: the real `openssl ocsp` responder for tests, isolated in a
// loopback-only network namespace.
//
// OpenSSL 3.0's responder binds every interface and has no bind-address
// option, while tests may only listen on loopback. So a test binary first
// moves itself into a fresh network namespace whose only interface is `lo`
// (EnterLoopbackOnlyNetwork, once, from SetUpTestSuite so that listing the
// tests never does it); the responder and every other child forked
// afterwards inherit it.
#ifndef AXIS_TESTS_OCSP_RESPONDER_H_
#define AXIS_TESTS_OCSP_RESPONDER_H_

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::testing {

// EnterLoopbackOnlyNetwork moves this process into a new network namespace
// and brings its loopback interface up. Returns "" or why it could not.
inline std::string EnterLoopbackOnlyNetwork() {
  if (::unshare(CLONE_NEWNET) != 0) {
    return absl::StrCat("unshare(CLONE_NEWNET): ", std::strerror(errno),
                        " (needs root or CAP_SYS_ADMIN)");
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::StrCat("socket: ", std::strerror(errno));
  }
  struct ifreq ifr = {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  std::string error;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    error = absl::StrCat("SIOCGIFFLAGS lo: ", std::strerror(errno));
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
      error = absl::StrCat("SIOCSIFFLAGS lo up: ", std::strerror(errno));
    }
  }
  ::close(fd);
  return error;
}

// LoopbackOnlyNetworkError enters the namespace once per process and
// returns "" or the reason it could not (then the tests skip).
inline const std::string& LoopbackOnlyNetworkError() {
  static const std::string* const error = new std::string(EnterLoopbackOnlyNetwork());
  return *error;
}

// Listening tells whether `pid` has a TCP socket listening on `port`, from
// /proc/<pid>/net/tcp{,6}. A probe connection would not do: OpenSSL 3.0's
// responder spins forever on a connection closed without a request.
inline bool Listening(pid_t pid, int port) {
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in(absl::StrCat("/proc/", pid, "/net/", table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 4 || f[3] != "0A") {  // 0A: TCP_LISTEN
        continue;
      }
      std::vector<std::string> addr = absl::StrSplit(f[1], ':');
      int p = 0;
      if (addr.size() == 2 && absl::SimpleHexAtoi(addr[1], &p) && p == port) {
        return true;
      }
    }
  }
  return false;
}

// OcspResponder is a running `openssl ocsp` on 127.0.0.1 (and, in our
// namespace, nowhere else).
struct OcspResponder {
  std::unique_ptr<ChildProcess> process;
  std::string url;
  std::string log;
};

// StartOcspResponder runs `openssl ocsp` for the issuing CA's database,
// signing with `signer` (a path prefix below pki-testdata, without
// .cert.pem/.key.pem), its answers valid for `validity_minutes`, on
// `fixed_port` (0: a free one).
inline absl::StatusOr<OcspResponder> StartOcspResponder(
    const std::string& signer = "ocsp/ocsp", const std::string& validity_minutes = "60",
    int fixed_port = 0) {
  absl::StatusOr<int> port = fixed_port != 0 ? absl::StatusOr<int>(fixed_port) : PickFreePort();
  if (!port.ok()) {
    return port.status();
  }
  OcspResponder r;
  r.log = MakeTempDir("ocsp") + "/responder.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> p = ChildProcess::Start(
      {"openssl", "ocsp", "-index", PkiPath("issuing-ca/index.txt"), "-CA", PkiPath("chain.pem"),
       "-rsigner", PkiPath(signer + ".cert.pem"), "-rkey", PkiPath(signer + ".key.pem"), "-port",
       absl::StrCat(*port), "-nmin", validity_minutes},
      r.log);
  if (!p.ok()) {
    return p.status();
  }
  r.process = std::move(*p);
  r.url = absl::StrCat("http://127.0.0.1:", *port, "/");
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!Listening(r.process->pid(), *port)) {
    if (!r.process->Running()) {
      return absl::UnavailableError(absl::StrCat("openssl ocsp exited; see ", r.log));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("openssl ocsp not listening; see ", r.log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return r;
}

}  // namespace axis::testing

#endif  // AXIS_TESTS_OCSP_RESPONDER_H_
