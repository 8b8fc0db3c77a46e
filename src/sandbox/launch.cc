// Launch puts the pieces together: plan in the parent (cgroup, mounts,
// rlimits, seccomp, exec paths, descriptors), clone, wait for exec or an
// error over a CLOEXEC pipe. The Process handle owns the init's pidfd, the
// status pipe from the init and the cgroup.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/crypto.h"
#include "common/log.h"
#include "sandbox/internal.h"

namespace pg::sandbox {
namespace {

using internal::Cgroup;
using internal::Plan;

bool HaveSysAdmin() {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[0].effective >> CAP_SYS_ADMIN) & 1;
}

// In the initial user namespace (so setting up as root means host root).
bool InInitialUserNs() {
  std::ifstream in("/proc/self/uid_map");
  unsigned a = 1, b = 1, c = 0;
  in >> a >> b >> c;
  return a == 0 && b == 0 && c == 4294967295u;
}

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Tearing down a mount namespace waits for an RCU grace period (milliseconds
// on a busy machine), and the kernel does it in the exit path of the last
// process, before its parent can reap it. Launch keeps a reference to the
// tree's mount namespace so that wait happens here instead, off the caller's
// path, in one background thread.
void CloseLater(int fd) {
  if (fd < 0) return;
  // Never destroyed: the thread waits on them until the process ends.
  struct Closer {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<int> queue;
  };
  static Closer* c = [] {
    auto* closer = new Closer();
    std::thread([closer] {
      for (;;) {
        int f;
        {
          std::unique_lock<std::mutex> l(closer->mu);
          closer->cv.wait(l, [closer] { return !closer->queue.empty(); });
          f = closer->queue.front();
          closer->queue.pop_front();
        }
        close(f);
      }
    }).detach();
    return closer;
  }();
  std::lock_guard<std::mutex> lock(c->mu);
  c->queue.push_back(fd);
  c->cv.notify_one();
}

class ProcessImpl : public Process {
 public:
  ProcessImpl(pid_t pid, int pidfd, int status_r, std::unique_ptr<Cgroup> cg, Limits limits, bool child,
              int64_t start_ms, int mntns = -1)
      : pid_(pid), pidfd_(pidfd), status_r_(status_r), cg_(std::move(cg)), limits_(limits), child_(child),
        start_ms_(start_ms), mntns_(mntns) {}
  ~ProcessImpl() override {
    if (!waited_) {
      Kill();
      (void)Wait();
    }
    CloseFd(pidfd_);
    CloseFd(status_r_);
    CloseLater(mntns_);
  }

  pid_t pid() const override { return pid_; }
  int pidfd() const override { return pidfd_; }

  void Signal(int sig) override {
    if (sig == SIGKILL) return Kill();
    if (waited_) return;
    // Stop signals cannot be caught, so the init cannot forward them.
    if ((sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) && cg_) return cg_->SignalAll(sig);
    syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);
  }

  void Kill() override {
    if (waited_) return;
    syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    if (cg_) cg_->KillAll();
  }

  Result<Outcome> Wait() override {
    if (waited_) return Error::Internal("sandbox: Wait called twice");
    waited_ = true;
    Outcome out;
    int st = 0;
    struct rusage ru = {};
    bool have_status = false;
    if (child_) {
      for (;;) {
        pid_t w = wait4(pid_, &st, __WALL, &ru);
        if (w == pid_) {
          have_status = true;
          break;
        }
        if (w < 0 && errno == EINTR) continue;
        break;
      }
    } else {
      struct pollfd p = {pidfd_, POLLIN, 0};
      while (poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
    }
    out.wall_ms = NowMs() - start_ms_;
    CloseLater(mntns_);
    mntns_ = -1;
    internal::InitReport report;
    ssize_t n = status_r_ >= 0 ? read(status_r_, &report, sizeof report) : 0;
    if (n == sizeof report) {
      int ms = report.wait_status;
      if (WIFEXITED(ms)) out.exit_code = WEXITSTATUS(ms);
      if (WIFSIGNALED(ms)) out.signal = WTERMSIG(ms);
      out.timed_out = report.reason != internal::kEndExited;
    } else if (have_status) {
      // The init itself was killed (Kill(), or from outside).
      if (WIFEXITED(st)) out.exit_code = WEXITSTATUS(st);
      if (WIFSIGNALED(st)) out.signal = WTERMSIG(st);
    }
    out.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    out.peak_memory_kb = ru.ru_maxrss;
    Result<void> destroyed = Ok();
    if (cg_) {
      cg_->Fill(&out);
      destroyed = cg_->Destroy();
    }
    if (out.signal == SIGXCPU) out.timed_out = true;
    if (limits_.cpu_time_ms > 0 && out.signal == SIGKILL && out.cpu_ms >= limits_.cpu_time_ms) out.timed_out = true;
    if (!destroyed.ok()) spdlog::warn("sandbox: {}", destroyed.error().message);
    return out;
  }

  Outcome Usage() const override {
    Outcome out;
    out.wall_ms = NowMs() - start_ms_;
    if (cg_) cg_->Fill(&out);
    return out;
  }

 private:
  pid_t pid_;
  int pidfd_;
  int status_r_;
  std::unique_ptr<Cgroup> cg_;
  Limits limits_;
  bool child_;  // our child (wait4) or attached (pidfd only)
  int64_t start_ms_;
  int mntns_;  // a reference to the tree's mount namespace (see CloseLater)
  bool waited_ = false;
};

std::string ChildErrorMessage(const internal::ChildError& e) {
  std::string m = "sandbox: ";
  m += e.what ? e.what : "setup";
  if (e.path) m += std::string(" ") + e.path;
  m += ": ";
  m += std::strerror(e.err);
  return m;
}

// Descriptors of one launch; closes what is still open on every path.
struct Fds {
  std::vector<int> fds;
  int Add(int fd) {
    if (fd >= 0) fds.push_back(fd);
    return fd;
  }
  void Forget(int fd) {
    for (auto& f : fds)
      if (f == fd) f = -1;
  }
  void CloseAll() {
    for (int& f : fds)
      if (f >= 0) close(f), f = -1;
  }
  ~Fds() { CloseAll(); }
};

Result<int> DupHigh(int fd, Fds* fds) {
  if (fd < 0) return -1;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return Error::FromErrno("sandbox: dup " + std::to_string(fd), errno);
  return fds->Add(d);
}

}  // namespace

const Capabilities& HostCapabilities() {
  static Capabilities caps = [] {
    Capabilities c;
    std::ifstream in("/proc/sys/user/max_user_namespaces");
    long n = 0;
    c.user_namespaces = (in >> n) && n > 0;
    const auto& l = internal::Layout();
    c.cgroups = l.usable;
    c.cgroup_mode = l.mode;
    if (l.usable) {
      c.detail = "cgroups " + l.mode + ": memory, pids and cpu limits and accounting through cgroups";
    } else {
      c.detail = "cgroups unavailable (" + l.why_not +
                 "): limits are rlimits only (RLIMIT_AS per process for memory, RLIMIT_NPROC for processes, "
                 "RLIMIT_CPU per process for CPU time)";
      spdlog::warn("sandbox: {}", c.detail);
    }
    return c;
  }();
  return caps;
}

Result<std::unique_ptr<Process>> Launch(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return Error::BadRequest("invalid_spec", "sandbox: argv must not be empty");
  if (spec.inherit_fd >= 0 && spec.inherit_fd < 3)
    return Error::BadRequest("invalid_spec", "sandbox: inherit_fd must be >= 3");
  if (spec.hostname.empty() || spec.hostname.size() > 64)
    return Error::BadRequest("invalid_spec", "sandbox: bad hostname");
  const Capabilities& caps = HostCapabilities();
  const int64_t start_ms = NowMs();

  auto plan = std::make_unique<Plan>();
  plan->privileged = geteuid() == 0 && HaveSysAdmin() && InInitialUserNs();
  if (plan->privileged) {
    plan->host_uid = spec.host_uid ? spec.host_uid : internal::DefaultHostUid();
    plan->host_gid = spec.host_gid ? spec.host_gid : internal::DefaultHostGid();
    if (plan->host_uid == 0 || plan->host_gid == 0)
      return Error::BadRequest("invalid_spec", "sandbox: the tree never runs as host root");
  } else {
    // Unprivileged: we can only map ourselves.
    plan->host_uid = geteuid();
    plan->host_gid = getegid();
  }
  plan->uid_map = plan->Keep("1000 " + std::to_string(plan->host_uid) + " 1");
  plan->gid_map = plan->Keep("1000 " + std::to_string(plan->host_gid) + " 1");
  plan->hostname = plan->Keep(spec.hostname);
  plan->wall_time_ms = spec.limits.wall_time_ms;
  plan->cpu_time_ms = spec.limits.cpu_time_ms;
  Fds fds;

  std::unique_ptr<Cgroup> cg;
  std::vector<internal::CgroupBind> binds;
  if (caps.cgroups) {
    std::string name = spec.cgroup.empty() ? "sandbox/" + RandomToken(8) : spec.cgroup;
    auto created = Cgroup::Create(name, spec.limits, spec.allow_nesting, plan->host_uid, plan->host_gid);
    if (!created.ok()) {
      if (internal::ValidateCgroupName(name).ok()) (void)Cgroup::Existing(name)->Destroy();  // partial leftovers
      return created.error();
    }
    cg = std::move(created).value();
    PG_ASSIGN_OR_RETURN(plan->cgroup_procs_fds, cg->OpenProcs());
    for (int fd : plan->cgroup_procs_fds) fds.Add(fd);
    plan->cpu_usage_fd = fds.Add(cg->OpenCpuUsage(&plan->cpu_usage_usec));
    if (spec.allow_nesting) binds = cg->DelegatedBinds();
  } else if (!spec.cgroup.empty()) {
    PG_RETURN_IF_ERROR(internal::ValidateCgroupName(spec.cgroup));
  }
  // From here on, failures must remove the cgroup again.
  struct CgGuard {
    Cgroup* cg;
    ~CgGuard() {
      if (cg) (void)cg->Destroy();
    }
  } guard{cg.get()};

  PG_ASSIGN_OR_RETURN(plan->seccomp, internal::SeccompProgram(spec.allow_nesting));
  PG_RETURN_IF_ERROR(internal::PlanMounts(spec, binds, plan.get()));
  internal::PlanRlimits(spec.limits, cg != nullptr, plan.get());

  // argv, envp, and where to find argv[0] inside.
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";
  bool has_path = false;
  for (const auto& kv : spec.env) {
    if (kv.find('=') == std::string::npos) return Error::BadRequest("invalid_spec", "sandbox: env entry without '='");
    if (kv.rfind("PATH=", 0) == 0) {
      path_env = kv.substr(5);
      has_path = true;
    }
    plan->envp.push_back(const_cast<char*>(plan->Keep(kv)));
  }
  if (!has_path) plan->envp.push_back(const_cast<char*>(plan->Keep("PATH=" + path_env)));
  plan->envp.push_back(nullptr);
  for (const auto& a : spec.argv) plan->argv.push_back(const_cast<char*>(plan->Keep(a)));
  plan->argv.push_back(nullptr);
  const std::string& prog = spec.argv[0];
  if (prog.find('/') != std::string::npos) {
    plan->exec_paths.push_back(plan->Keep(prog));
  } else {
    size_t i = 0;
    while (i <= path_env.size()) {
      size_t j = path_env.find(':', i);
      if (j == std::string::npos) j = path_env.size();
      std::string dir = path_env.substr(i, j - i);
      if (!dir.empty() && dir[0] == '/') plan->exec_paths.push_back(plan->Keep(dir + "/" + prog));
      i = j + 1;
    }
    if (plan->exec_paths.empty()) return Error::BadRequest("invalid_spec", "sandbox: no usable PATH for " + prog);
  }

  // Descriptors.
  int err_pipe[2], status_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("sandbox: pipe", errno);
  plan->err_r = fds.Add(err_pipe[0]);
  plan->err_w = fds.Add(err_pipe[1]);
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return Error::FromErrno("sandbox: pipe", errno);
  plan->status_r = fds.Add(status_pipe[0]);
  plan->status_w = fds.Add(status_pipe[1]);
  PG_ASSIGN_OR_RETURN(plan->stdio[0], DupHigh(spec.stdin_fd, &fds));
  PG_ASSIGN_OR_RETURN(plan->stdio[1], DupHigh(spec.stdout_fd, &fds));
  PG_ASSIGN_OR_RETURN(plan->stdio[2], DupHigh(spec.stderr_fd, &fds));
  PG_ASSIGN_OR_RETURN(plan->pty_fd, DupHigh(spec.pty_slave_fd, &fds));
  if (spec.inherit_fd >= 0) {
    PG_ASSIGN_OR_RETURN(plan->inherit_src, DupHigh(spec.inherit_fd, &fds));
    plan->inherit_fd = spec.inherit_fd;
  }

  int pidfd = -1;
  PG_ASSIGN_OR_RETURN(pid_t pid, internal::CloneChild(plan.get(), &pidfd));
  int mntns = open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
  // Only the error pipe's and the status pipe's read ends stay with us.
  int err_r = plan->err_r, status_r = plan->status_r;
  fds.Forget(err_r);
  fds.Forget(status_r);
  UniqueFd err_reader(err_r);
  fds.CloseAll();

  internal::ChildError ce{};
  size_t got = 0;
  while (got < sizeof ce) {
    ssize_t n = read(err_r, reinterpret_cast<char*>(&ce) + got, sizeof ce - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  if (got > 0) {
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
    }
    close(pidfd);
    close(status_r);
    CloseLater(mntns);
    std::string msg = got == sizeof ce ? ChildErrorMessage(ce) : "sandbox: setup failed";
    return Error::Make(ce.what && std::strcmp(ce.what, "execve") == 0 ? "exec_failed" : "sandbox_failed", msg, 500);
  }
  guard.cg = nullptr;
  return std::unique_ptr<Process>(
      std::make_unique<ProcessImpl>(pid, pidfd, status_r, std::move(cg), spec.limits, true, start_ms, mntns));
}

Result<std::unique_ptr<Process>> Attach(pid_t pid, const std::string& cgroup) {
  PG_RETURN_IF_ERROR(internal::ValidateCgroupName(cgroup));
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return Error::NotFound("sandbox: process " + std::to_string(pid) + " is gone");
  // It must be the tree of that cgroup (and not a recycled pid).
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  bool found = !internal::Layout().usable;
  while (std::getline(in, line)) {
    auto pos = line.find(":/" + cgroup);
    if (pos != std::string::npos) {
      std::string rest = line.substr(pos + 2 + cgroup.size());
      if (rest.empty() || rest == "/init") found = true;
    }
  }
  if (!found) {
    close(pidfd);
    return Error::NotFound("sandbox: process " + std::to_string(pid) + " is not in cgroup " + cgroup);
  }
  std::unique_ptr<Cgroup> cg;
  if (internal::Layout().usable) cg = Cgroup::Existing(cgroup);
  return std::unique_ptr<Process>(std::make_unique<ProcessImpl>(pid, pidfd, -1, std::move(cg), Limits{}, false, NowMs()));
}

}  // namespace pg::sandbox
