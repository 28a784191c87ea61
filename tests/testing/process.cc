#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace axis::testing {
namespace {

std::vector<char*> CArgs(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const std::string& s : v) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

void ApplyEnv(const std::map<std::string, std::string>& env) {
  for (const auto& [k, v] : env) {
    ::setenv(k.c_str(), v.c_str(), 1);
  }
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input, absl::Duration timeout,
                                         const std::map<std::string, std::string>& env) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("RunCommand: empty argv");
  }
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<char*> args = CArgs(argv);
  pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ApplyEnv(env);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Feed stdin and drain both outputs without blocking on any one of them.
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  ::signal(SIGPIPE, SIG_IGN);
  CommandResult result;
  bool out_open = true, err_open = true;
  absl::Time deadline = absl::Now() + timeout;
  while (out_open || err_open) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not finish within ", absl::FormatDuration(timeout)));
    }
    struct pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) {
      fds[n] = {out_pipe[0], POLLIN, 0};
      out_i = n++;
    }
    if (err_open) {
      fds[n] = {err_pipe[0], POLLIN, 0};
      err_i = n++;
    }
    if (in_fd >= 0) {
      fds[n] = {in_fd, POLLOUT, 0};
      in_i = n++;
    }
    int rc = ::poll(fds, n, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (rc < 0 && errno != EINTR) {
      break;
    }
    char buf[65536];
    auto drain = [&](int i, int fd, std::string* dst, bool* open) {
      if (i >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = ::read(fd, buf, sizeof(buf));
        if (r <= 0) {
          *open = false;
        } else {
          dst->append(buf, static_cast<size_t>(r));
        }
      }
    };
    drain(out_i, out_pipe[0], &result.out, &out_open);
    drain(err_i, err_pipe[0], &result.err, &err_open);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) {
        written += static_cast<size_t>(w);
      }
      if (w < 0 || written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) {
    ::close(in_fd);
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path,
    const std::map<std::string, std::string>& env) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("ChildProcess: empty argv");
  }
  std::vector<char*> args = CArgs(argv);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // A test that crashes runs no destructor: its servers die with it
    // instead of lingering. (Servers are started from the test's main
    // thread; the signal follows the thread that forked.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    int fd = log_path.empty() ? ::open("/dev/null", O_WRONLY)
                              : ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) {
      ::dup2(null_in, 0);
    }
    ApplyEnv(env);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Running() {
  if (reaped_) {
    return false;
  }
  pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

int ChildProcess::Stop(int signal, absl::Duration grace) {
  if (!Running()) {
    return status_;
  }
  ::kill(pid_, signal);
  absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (!Running()) {
      return status_;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
  reaped_ = true;
  return status_;
}

namespace {

// AnyFreePort asks the kernel for a free port on 127.0.0.1.
absl::StatusOr<int> AnyFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(err)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

absl::StatusOr<int> PickFreePort() {
  // The kernel may hand a port it just gave back out again before anyone
  // listens on it; gRPC servers bind with SO_REUSEPORT, so two servers of
  // one test given the same port would silently share it. Never give the
  // same port twice in a process.
  static absl::Mutex mu(absl::kConstInit);
  static std::set<int>* given = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<int> port = AnyFreePort();
    if (!port.ok()) {
      return port;
    }
    absl::MutexLock l(&mu);
    if (given->insert(*port).second) {
      return port;
    }
  }
  return absl::ResourceExhaustedError("no free port not given before in 100 tries");
}

absl::Status WaitForTcpPort(int port, absl::Duration timeout, ChildProcess* child) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (child != nullptr && !child->Running()) {
      return absl::UnavailableError(absl::StrCat("process exited before listening on ", port));
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::close(fd);
    if (rc == 0) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("127.0.0.1:", port, " not listening after ", absl::FormatDuration(timeout)));
}

bool OnPath(const std::string& program) {
  absl::StatusOr<CommandResult> r = RunCommand({"sh", "-c", "command -v \"$0\"", program});
  return r.ok() && r->exit_code == 0;
}

bool HaveJdk() { return OnPath("java") && OnPath("javac"); }

namespace {

absl::Mutex temp_dirs_mu;
std::vector<std::string>* temp_dirs ABSL_GUARDED_BY(temp_dirs_mu) = nullptr;

// RemoveTempDirs runs at exit: the directories MakeTempDir made go, with
// everything the servers of the test wrote in them, unless
// AXIS_KEEP_TEST_DIRS is set (then they are listed on stderr).
void RemoveTempDirs() {
  absl::MutexLock l(&temp_dirs_mu);
  const char* keep = std::getenv("AXIS_KEEP_TEST_DIRS");
  for (const std::string& dir : *temp_dirs) {
    if (keep != nullptr && *keep != '\0') {
      std::fprintf(stderr, "kept: %s\n", dir.c_str());
      continue;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = ::testing::TempDir() + prefix + "XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) {
    return std::string();
  }
  absl::MutexLock l(&temp_dirs_mu);
  if (temp_dirs == nullptr) {
    temp_dirs = new std::vector<std::string>();
    std::atexit(RemoveTempDirs);
  }
  temp_dirs->push_back(made);
  return std::string(made);
}

}  // namespace axis::testing
