#include "runner/direct_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "sandbox/internal.h"

namespace pg::runner {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reads /proc/PID/stat: session, utime+stime+cutime+cstime (ticks). False when gone.
bool ReadStat(pid_t pid, pid_t* session, int64_t* ticks) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(line.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;  // fields from #3 (state) on
  while (in >> field && fields.size() < 16) fields.push_back(field);
  if (fields.size() < 15) return false;
  *session = static_cast<pid_t>(std::stoll(fields[3]));  // #6
  *ticks = std::stoll(fields[11]) + std::stoll(fields[12]) + std::stoll(fields[13]) + std::stoll(fields[14]);
  return true;
}

int64_t ReadRssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/statm");
  int64_t size = 0, rss = 0;
  if (!(f >> size >> rss)) return 0;
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

void Children(pid_t pid, std::vector<pid_t>* out) {
  // Every thread may have forked: read each task's children list.
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> tids;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') tids.emplace_back(e->d_name);
  }
  closedir(d);
  for (const auto& tid : tids) {
    std::ifstream f(dir + "/" + tid + "/children");
    pid_t c;
    while (f >> c) out->push_back(c);
  }
}

// The live keepers (AdoptOrphansOfRuns); the mutex is held across fork and
// registration so a sweep never mistakes a new keeper for an orphan.
std::mutex keepers_mu;
std::set<pid_t> keepers;
bool adopt_orphans = false;

// AdoptOrphansOfRuns: SIGKILLs and reaps every child of this process that
// is not a live keeper, until none is left.
void SweepOrphans() {
  std::lock_guard<std::mutex> lock(keepers_mu);
  if (!adopt_orphans) return;
  for (int round = 0; round < 16; ++round) {
    std::vector<pid_t> kids;
    Children(getpid(), &kids);
    bool any = false;
    for (pid_t p : kids) {
      if (keepers.count(p)) continue;
      kill(p, SIGKILL);
      int st;
      waitpid(p, &st, __WALL);
      any = true;
    }
    if (!any) break;
  }
}

class DirectProcess : public sandbox::Process {
 public:
  DirectProcess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd), start_ms_(NowMs()) {}
  ~DirectProcess() override {
    if (!reaped_) {
      Kill();
      int status;
      waitpid(pid_, &status, 0);
      Forget();
    }
    close(pidfd_);
  }

  pid_t pid() const override { return pid_; }
  int pidfd() const override { return pidfd_; }

  // pid_ is the run's keeper (see LaunchDirect), which ignores the signals
  // meant for the program.
  void Signal(int sig) override {
    for (pid_t p : Tree())
      if (p != pid_) kill(p, sig);
  }

  void Kill() override {
    // A few rounds: a process may fork between listing and killing. The
    // keeper goes last, so what re-parents meanwhile lands on it (it kills
    // and reaps whatever is left once the program is gone).
    for (int round = 0; round < 4; ++round) {
      auto tree = Tree();
      bool any = false;
      for (pid_t p : tree) {
        if (p == pid_) continue;
        kill(p, SIGKILL);
        any = true;
      }
      if (!any) break;
    }
    if (!reaped_) kill(pid_, SIGKILL);
  }

  Result<sandbox::Outcome> Wait() override {
    if (reaped_) return Error::Internal("Wait called twice");
    int status = 0;
    struct rusage ru {};
    pid_t r;
    do {
      r = wait4(pid_, &status, 0, &ru);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return Error::FromErrno("wait4", errno);
    reaped_ = true;
    Forget();
    // What is left of the tree (same session) goes too.
    Kill();
    sandbox::Outcome o = Usage();
    if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
    int64_t cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    o.cpu_ms = std::max(o.cpu_ms, cpu);
    o.peak_memory_kb = std::max(o.peak_memory_kb, static_cast<int64_t>(ru.ru_maxrss));
    o.wall_ms = NowMs() - start_ms_;
    o.timed_out = o.signal == SIGXCPU;
    return o;
  }

  sandbox::Outcome Usage() const override {
    sandbox::Outcome o;
    int64_t ticks = 0, rss = 0;
    static const int64_t kTick = sysconf(_SC_CLK_TCK);
    for (pid_t p : Tree()) {
      pid_t sid;
      int64_t t;
      if (ReadStat(p, &sid, &t)) ticks += t;
      rss += ReadRssKb(p);
    }
    cpu_ms_ = std::max(cpu_ms_, ticks * 1000 / kTick);
    peak_kb_ = std::max(peak_kb_, rss);
    o.cpu_ms = cpu_ms_;
    o.peak_memory_kb = peak_kb_;
    o.wall_ms = NowMs() - start_ms_;
    return o;
  }

 private:
  // The keeper is gone: no longer a live keeper; whatever it left behind
  // (only when it was killed) goes.
  void Forget() {
    {
      std::lock_guard<std::mutex> lock(keepers_mu);
      keepers.erase(pid_);
    }
    SweepOrphans();
  }

  // The main process and its descendants (through the children lists), plus
  // orphans still in its session.
  std::vector<pid_t> Tree() const {
    std::vector<pid_t> out;
    std::set<pid_t> seen;
    std::vector<pid_t> todo;
    if (!reaped_) todo.push_back(pid_);
    while (!todo.empty()) {
      pid_t p = todo.back();
      todo.pop_back();
      if (!seen.insert(p).second) continue;
      out.push_back(p);
      Children(p, &todo);
    }
    // Orphans re-parented away keep the session id.
    if (DIR* d = opendir("/proc")) {
      while (auto* e = readdir(d)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        pid_t p = std::atoi(e->d_name);
        if (seen.count(p) || p == pid_) continue;
        pid_t sid;
        int64_t t;
        if (ReadStat(p, &sid, &t) && sid == pid_) {
          seen.insert(p);
          out.push_back(p);
        }
      }
      closedir(d);
    }
    return out;
  }

  pid_t pid_;
  int pidfd_;
  int64_t start_ms_;
  bool reaped_ = false;
  mutable int64_t cpu_ms_ = 0;
  mutable int64_t peak_kb_ = 0;
};

void SetLimit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit rl {
    soft, hard
  };
  setrlimit(resource, &rl);
}

// Signals the keeper ignores (a terminal's ^C/^Z/hangup, a stray kill of
// the tree); the program gets them back at their defaults before exec.
constexpr int kKeeperIgnores[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU,
                                  SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ};

// SIGKILLs every current child of the calling (single-threaded) process,
// read from /proc/self/task/<pid>/children with raw calls only (after fork
// in a multi-threaded parent). Returns how many it found.
int KillChildren() {
  char path[64] = "/proc/self/task/";
  size_t n = std::strlen(path);
  char digits[16];
  int nd = 0;
  for (pid_t v = getpid(); v > 0; v /= 10) digits[nd++] = static_cast<char>('0' + v % 10);
  while (nd > 0) path[n++] = digits[--nd];
  std::memcpy(path + n, "/children", 10);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int found = 0;
  pid_t cur = 0;
  bool in_num = false;
  char buf[512];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < r; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        cur = cur * 10 + (buf[i] - '0');
        in_num = true;
      } else if (in_num) {
        kill(cur, SIGKILL);
        ++found;
        cur = 0;
        in_num = false;
      }
    }
  }
  if (in_num) {
    kill(cur, SIGKILL);
    ++found;
  }
  close(fd);
  return found;
}

// The keeper: waits for the program (`main`) and reaps everything that
// re-parents to it (it is a child subreaper); once the program has ended it
// SIGKILLs every remaining child until none is left, then ends the way the
// program did. Never returns.
[[noreturn]] void KeeperLoop(pid_t main) {
  int main_status = 0;
  bool main_done = false;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(-1, &st, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left
    }
    if (r == main) {
      main_status = st;
      main_done = true;
    }
    if (main_done) KillChildren();
  }
  if (WIFSIGNALED(main_status)) {
    int sig = WTERMSIG(main_status);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    kill(getpid(), sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(main_status) ? WEXITSTATUS(main_status) : 127);
}

}  // namespace

Result<std::unique_ptr<sandbox::Process>> LaunchDirect(const sandbox::Spec& spec) {
  if (spec.argv.empty()) return Error::BadRequest("invalid_value", "empty argv");
  // The project's seccomp filter (strict variant, as in the sandbox): it only
  // needs no_new_privs, which an unprivileged process may set, and adds what
  // a container's default profile allows (io_uring, perf_event_open, ...).
  PG_ASSIGN_OR_RETURN(std::vector<sock_filter> filter, sandbox::internal::SeccompProgram(false));
  struct sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(filter.size());
  fprog.filter = filter.data();
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) < 0) return Error::FromErrno("pipe2", errno);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const bool drop = geteuid() == 0 && spec.host_uid != 0;
  struct rlimit nofile {};
  const int max_fd = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (1u << 20)
                         ? static_cast<int>(nofile.rlim_cur)
                         : (1 << 20);
  const auto& lim = spec.limits;

  // The keeper: a child of this server in its own session, a child
  // subreaper, so whatever the program starts stays its descendant even
  // through setsid + double fork (re-parented to the keeper, not to pid 1).
  std::unique_lock<std::mutex> registry(keepers_mu);
  pid_t pid = fork();
  if (pid != 0) {  // (the child never returns: no unlock there)
    if (pid > 0) keepers.insert(pid);
    registry.unlock();
  }
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    close(devnull);
    return Error::FromErrno("fork", e);
  }
  if (pid == 0) {
    // Keeper and program: only async-signal-safe calls from here on.
    // (No PR_SET_PDEATHSIG: it fires when the forking *thread* ends.)
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_DUMPABLE, 0);
    SetLimit(RLIMIT_CORE, 0, 0);
    if (spec.pty_slave_fd >= 0) ioctl(spec.pty_slave_fd, TIOCSCTTY, 0);
    for (int sig : kKeeperIgnores) signal(sig, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    pid_t main = fork();
    if (main < 0) {
      int e = errno;
      (void)!write(err_pipe[1], &e, sizeof e);
      _exit(127);
    }
    if (main > 0) {
      // The keeper never execs: it must not keep the server's descriptors
      // (a stdin pipe's write end would never see EOF, sockets would stay
      // open), nor the run's.
      if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (int fd = 3; fd < max_fd; ++fd) close(fd);
      }
      KeeperLoop(main);
    }
    // The program.
    prctl(PR_SET_DUMPABLE, 1);
    for (int sig : kKeeperIgnores) signal(sig, SIG_DFL);
    int in = spec.stdin_fd, out = spec.stdout_fd, errfd = spec.stderr_fd;
    if (spec.pty_slave_fd >= 0) in = out = errfd = spec.pty_slave_fd;
    dup2(in >= 0 ? in : devnull, 0);
    dup2(out >= 0 ? out : devnull, 1);
    dup2(errfd >= 0 ? errfd : devnull, 2);
    if (spec.inherit_fd >= 0) fcntl(spec.inherit_fd, F_SETFD, 0);
    if (lim.cpu_time_ms > 0) {
      rlim_t secs = static_cast<rlim_t>((lim.cpu_time_ms + 999) / 1000);
      SetLimit(RLIMIT_CPU, secs, secs + 1);
    }
    // Without a memory cgroup: private writable mappings are capped (mere
    // reservations, e.g. V8's or the JVM's, are not counted).
    if (lim.memory_bytes > 0) SetLimit(RLIMIT_DATA, lim.memory_bytes, lim.memory_bytes);
    if (lim.file_size_bytes > 0) SetLimit(RLIMIT_FSIZE, lim.file_size_bytes, lim.file_size_bytes);
    if (lim.open_files > 0) SetLimit(RLIMIT_NOFILE, lim.open_files, lim.open_files);
    if (drop) {
      if (setgroups(0, nullptr) != 0 || setgid(spec.host_gid ? spec.host_gid : spec.host_uid) != 0 ||
          setuid(spec.host_uid) != 0) {
        int e = errno;
        (void)!write(err_pipe[1], &e, sizeof e);
        _exit(127);
      }
    }
    if (lim.pids > 0 && getuid() != 0) SetLimit(RLIMIT_NPROC, lim.pids, lim.pids);
    if (chdir(spec.cwd.c_str()) != 0) {
      int e = errno;
      (void)!write(err_pipe[1], &e, sizeof e);
      _exit(127);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
      int e = errno;
      (void)!write(err_pipe[1], &e, sizeof e);
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!write(err_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(err_pipe[1]);
  close(devnull);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  auto forget = [pid] {
    std::lock_guard<std::mutex> lock(keepers_mu);
    keepers.erase(pid);
  };
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status;
    waitpid(pid, &status, 0);
    forget();
    return Error::Make("sandbox_failed", "cannot start " + spec.argv[0] + ": " + strerror(child_errno), 500);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    forget();
    return Error::FromErrno("pidfd_open", e);
  }
  return std::unique_ptr<sandbox::Process>(new DirectProcess(pid, pidfd));
}

void AdoptOrphansOfRuns() {
  std::lock_guard<std::mutex> lock(keepers_mu);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) adopt_orphans = true;
}

}  // namespace pg::runner
