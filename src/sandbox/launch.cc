// Launch puts the pieces together: plan in the parent (cgroup, mounts,
// rlimits, seccomp, exec paths, descriptors), clone, wait for exec or an
// error over a CLOEXEC pipe. The Process handle owns the init's pidfd, the
// status pipe from the init and the cgroup.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
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

// Work that need not delay the caller runs in one background thread, in
// order: tearing down a mount namespace waits for an RCU grace period
// (milliseconds on a busy machine), and the kernel does it in the exit path
// of the last process, before its parent can reap it; Launch keeps a
// reference to the tree's mount namespace so that wait happens here
// instead. Removing a finished tree's own cgroup (rmdir in every hierarchy,
// retried while the kernel still holds it busy) happens here too.
// At exit the queue is drained (bounded), so that a short-lived process
// leaves no cgroups behind.
void Later(std::function<void()> work) {
  // Never destroyed: the thread waits on them until the process ends.
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;
    bool busy = false;
  };
  static Worker* w = [] {
    auto* worker = new Worker();
    std::thread([worker] {
      for (;;) {
        std::function<void()> f;
        {
          std::unique_lock<std::mutex> l(worker->mu);
          worker->busy = false;
          worker->cv.notify_all();
          worker->cv.wait(l, [worker] { return !worker->queue.empty(); });
          f = std::move(worker->queue.front());
          worker->queue.pop_front();
          worker->busy = true;
        }
        f();
      }
    }).detach();
    std::atexit([] {
      std::unique_lock<std::mutex> l(w->mu);
      w->cv.wait_for(l, std::chrono::seconds(10), [] { return w->queue.empty() && !w->busy; });
    });
    return worker;
  }();
  std::lock_guard<std::mutex> lock(w->mu);
  w->queue.push_back(std::move(work));
  w->cv.notify_all();
}

void CloseLater(int fd) {
  if (fd < 0) return;
  Later([fd] { close(fd); });
}

void ReleaseWarm();  // Pool::Released (below)

class ProcessImpl : public Process {
 public:
  ProcessImpl(pid_t pid, int pidfd, int status_r, std::unique_ptr<Cgroup> cg, Limits limits, bool child,
              int64_t start_ms, int mntns = -1, bool own_cgroup = false)
      : pid_(pid), pidfd_(pidfd), status_r_(status_r), cg_(std::move(cg)), limits_(limits), child_(child),
        start_ms_(start_ms), mntns_(mntns), own_cgroup_(own_cgroup) {}
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
  // Started on a prewarmed stub: Wait tells the pool (see Pool::Released).
  void SetWarm() { warm_ = true; }

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
    if (cg_ && own_cgroup_ && have_status) {
      // A cgroup of our own naming (sandbox/<random>) whose init we reaped:
      // the pid namespace went with the init, so nothing of the tree is
      // left; removing the directories is not the caller's business.
      cg_->Fill(&out);
      cg_->KillAll();
      std::shared_ptr<Cgroup> cg(std::move(cg_));
      Later([cg] {
        if (auto d = cg->Destroy(); !d.ok()) spdlog::warn("sandbox: {}", d.error().message);
      });
    } else if (cg_) {
      cg_->Fill(&out);
      destroyed = cg_->Destroy();
    }
    if (out.signal == SIGXCPU) out.timed_out = true;
    if (limits_.cpu_time_ms > 0 && out.signal == SIGKILL && out.cpu_ms >= limits_.cpu_time_ms) out.timed_out = true;
    if (!destroyed.ok()) spdlog::warn("sandbox: {}", destroyed.error().message);
    if (warm_) ReleaseWarm();
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
  bool warm_ = false;
  bool own_cgroup_;  // named by Launch, not by the caller: removed in the background
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

namespace {

// Ids, hostname, time limits: the plan's head.
Result<void> PlanIds(const Spec& spec, Plan* plan) {
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
  return Ok();
}

// The cgroup (created with `cg_limits`), seccomp and the root. On failure
// the cgroup is already removed again.
Result<void> PlanSandbox(const Spec& spec, const Limits& cg_limits, Plan* plan, Fds* fds,
                         std::unique_ptr<Cgroup>* cg_out) {
  const Capabilities& caps = HostCapabilities();
  std::unique_ptr<Cgroup> cg;
  std::vector<internal::CgroupBind> binds;
  if (caps.cgroups) {
    std::string name = spec.cgroup.empty() ? "sandbox/" + RandomToken(8) : spec.cgroup;
    auto created = Cgroup::Create(name, cg_limits, spec.allow_nesting, plan->host_uid, plan->host_gid);
    if (!created.ok()) {
      if (internal::ValidateCgroupName(name).ok()) (void)Cgroup::Existing(name)->Destroy();  // partial leftovers
      return created.error();
    }
    cg = std::move(created).value();
  } else if (!spec.cgroup.empty()) {
    PG_RETURN_IF_ERROR(internal::ValidateCgroupName(spec.cgroup));
  }
  auto rest = [&]() -> Result<void> {
    if (cg) {
      PG_ASSIGN_OR_RETURN(plan->cgroup_procs_fds, cg->OpenProcs());
      for (int fd : plan->cgroup_procs_fds) fds->Add(fd);
      plan->cpu_usage_fd = fds->Add(cg->OpenCpuUsage(&plan->cpu_usage_usec));
      if (spec.allow_nesting) binds = cg->DelegatedBinds();
    }
    PG_ASSIGN_OR_RETURN(plan->seccomp, internal::SeccompProgram(spec.allow_nesting));
    PG_RETURN_IF_ERROR(internal::PlanMounts(spec, binds, plan));
    return Ok();
  }();
  if (!rest.ok()) {
    if (cg) (void)cg->Destroy();
    return rest.error();
  }
  *cg_out = std::move(cg);
  return Ok();
}

// argv, envp, where to find argv[0] inside, rlimits.
Result<void> PlanExec(const Spec& spec, bool cgroups, Plan* plan) {
  internal::PlanRlimits(spec.limits, cgroups, plan);
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
  return Ok();
}

Result<void> MakePipes(Plan* plan, Fds* fds) {
  int err_pipe[2], status_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Error::FromErrno("sandbox: pipe", errno);
  plan->err_r = fds->Add(err_pipe[0]);
  plan->err_w = fds->Add(err_pipe[1]);
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return Error::FromErrno("sandbox: pipe", errno);
  plan->status_r = fds->Add(status_pipe[0]);
  plan->status_w = fds->Add(status_pipe[1]);
  return Ok();
}

// Reads the child's error report: empty when it exec'd (the CLOEXEC pipe
// closed), else the error.
Result<void> ReadChildError(int err_r) {
  internal::ChildError ce{};
  size_t got = 0;
  while (got < sizeof ce) {
    ssize_t n = read(err_r, reinterpret_cast<char*>(&ce) + got, sizeof ce - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  if (got == 0) return Ok();
  std::string msg = got == sizeof ce ? ChildErrorMessage(ce) : "sandbox: setup failed";
  return Error::Make(ce.what && std::strcmp(ce.what, "execve") == 0 ? "exec_failed" : "sandbox_failed", msg, 500);
}

Result<std::unique_ptr<Process>> LaunchCold(const Spec& spec) {
  const int64_t start_ms = NowMs();
  auto plan = std::make_unique<Plan>();
  PG_RETURN_IF_ERROR(PlanIds(spec, plan.get()));
  Fds fds;
  std::unique_ptr<Cgroup> cg;
  PG_RETURN_IF_ERROR(PlanSandbox(spec, spec.limits, plan.get(), &fds, &cg));
  // From here on, failures must remove the cgroup again.
  struct CgGuard {
    Cgroup* cg;
    ~CgGuard() {
      if (cg) (void)cg->Destroy();
    }
  } guard{cg.get()};
  PG_RETURN_IF_ERROR(PlanExec(spec, cg != nullptr, plan.get()));
  PG_RETURN_IF_ERROR(MakePipes(plan.get(), &fds));
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

  auto child = ReadChildError(err_r);
  if (!child.ok()) {
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
    }
    close(pidfd);
    close(status_r);
    CloseLater(mntns);
    return child.error();
  }
  guard.cg = nullptr;
  return std::unique_ptr<Process>(
      std::make_unique<ProcessImpl>(pid, pidfd, status_r, std::move(cg), spec.limits, true, start_ms, mntns,
                                    spec.cgroup.empty()));
}

void RememberShape(const Spec& spec);  // Pool::Remember (below)

// ---- prewarmed sandboxes ----
//
// A stub is a sandbox cloned ahead of time from a template spec: its
// namespaces, cgroup (joined, no limits yet), root file system and ids are
// built, and its would-be init waits on a control socket. Launch of a spec
// with the same shape (root, binds, hostname, /tmp size, host ids; no named
// cgroup, no nesting) takes one: writes the limits into its cgroup, sends
// argv/env/cwd/rlimits/time limits and the standard descriptors, and the
// stub goes on exactly as a cold launch would after its user namespace
// (rlimits, no privileges, seccomp, the init forks the main process). Every
// stub serves one launch: isolation is the same as a cold launch's. A
// background thread keeps `count` stubs per recently used shape.

std::atomic<uint64_t> warm_launches{0};

struct Stub {
  pid_t pid = -1;
  int pidfd = -1, status_r = -1, err_r = -1, ctl = -1, mntns = -1;
  bool cgroups = false;
  std::unique_ptr<Cgroup> cg;
  std::vector<std::pair<dev_t, ino_t>> sources;  // of the binds, as bound
};

// Identity of a spec's bind sources: a stub serves a spec only while its
// binds are still the same files (not a directory recreated at the path).
std::vector<std::pair<dev_t, ino_t>> SourceIds(const Spec& spec) {
  std::vector<std::pair<dev_t, ino_t>> ids;
  for (const auto& m : spec.mounts) {
    struct stat st;
    if (stat(m.source.c_str(), &st) != 0) return {};
    ids.push_back({st.st_dev, st.st_ino});
  }
  return ids;
}

void DestroyStub(Stub& s) {
  CloseFd(s.ctl);  // the stub exits on EOF
  if (s.pidfd >= 0) syscall(SYS_pidfd_send_signal, s.pidfd, SIGKILL, nullptr, 0);
  if (s.pid > 0) {
    int st;
    while (waitpid(s.pid, &st, __WALL) < 0 && errno == EINTR) {
    }
  }
  CloseFd(s.pidfd);
  CloseFd(s.status_r);
  CloseFd(s.err_r);
  CloseLater(s.mntns);
  s.mntns = -1;
  if (s.cg) (void)s.cg->Destroy();
  s.cg.reset();
}

Result<Stub> MakeStub(const Spec& templ) {
  auto plan = std::make_unique<Plan>();
  PG_RETURN_IF_ERROR(PlanIds(templ, plan.get()));
  Fds fds;
  std::unique_ptr<Cgroup> cg;
  PG_RETURN_IF_ERROR(PlanSandbox(templ, Limits{}, plan.get(), &fds, &cg));
  Stub s;
  s.cgroups = cg != nullptr;
  s.cg = std::move(cg);
  s.sources = SourceIds(templ);
  auto made = [&]() -> Result<void> {
    PG_RETURN_IF_ERROR(MakePipes(plan.get(), &fds));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      return Error::FromErrno("sandbox: socketpair", errno);
    plan->ctl_fd = fds.Add(sv[0]);
    plan->ctl_peer = fds.Add(sv[1]);
    plan->go_buf.resize(internal::kGoBufSize);
    plan->go_ptrs.resize(internal::kGoMaxPtrs);
    PG_ASSIGN_OR_RETURN(s.pid, internal::CloneChild(plan.get(), &s.pidfd));
    s.mntns = open(("/proc/" + std::to_string(s.pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
    s.err_r = plan->err_r;
    s.status_r = plan->status_r;
    s.ctl = plan->ctl_peer;
    fds.Forget(s.err_r);
    fds.Forget(s.status_r);
    fds.Forget(s.ctl);
    fds.CloseAll();
    // Ready, or an error report (then the error pipe's EOF follows).
    struct pollfd p[2] = {{s.ctl, POLLIN, 0}, {s.err_r, POLLIN, 0}};
    int n;
    while ((n = poll(p, 2, 30000)) < 0 && errno == EINTR) {
    }
    char one = 0;
    if (n > 0 && (p[0].revents & POLLIN) && recv(s.ctl, &one, 1, 0) == 1 && one == 'R') return Ok();
    if (n == 0) return Error::Internal("sandbox: prewarmed sandbox not ready after 30 s");
    auto child = ReadChildError(s.err_r);
    return child.ok() ? Error::Internal("sandbox: prewarmed sandbox ended during setup") : child.error();
  }();
  if (!made.ok()) {
    DestroyStub(s);
    return made.error();
  }
  return s;
}

// What a stub must share with the spec it serves.
std::string ShapeKey(const Spec& spec) {
  std::string k = spec.rootfs;
  k += '\0' + spec.hostname + '\0' + std::to_string(spec.limits.tmp_size_bytes) + '\0' +
       std::to_string(spec.host_uid) + '\0' + std::to_string(spec.host_gid);
  for (const auto& m : spec.mounts) k += '\0' + m.source + '\0' + m.target + (m.writable ? "\1" : "\2");
  return k;
}

class Pool {
 public:
  static Pool& Get() {
    static Pool* pool = [] {
      auto* p = new Pool();  // never destroyed: its thread lives as long as the process
      if (const char* env = std::getenv("PG_SANDBOX_PREWARM"); env && *env) p->count_ = std::max(0, std::atoi(env));
      // At exit, Stop waits for the worker and removes the stubs; what the
      // worker uses must be constructed first (destroyed after Stop).
      (void)HostCapabilities();
      (void)internal::SeccompProgram(false);
      internal::PrimeMounts();
      std::atexit([] { Get().Stop(); });
      return p;
    }();
    return *pool;
  }

  void SetCount(int n) {
    std::vector<Stub> drop;
    {
      std::lock_guard<std::mutex> l(mu_);
      count_ = std::max(0, n);
      if (count_ == 0) {
        for (auto& slot : slots_)
          for (auto& st : slot->ready) drop.push_back(std::move(st));
        slots_.clear();
      }
      cv_.notify_all();
    }
    for (auto& st : drop) DestroyStub(st);
  }

  static bool Eligible(const Spec& spec) { return spec.use_prewarmed && spec.cgroup.empty() && !spec.allow_nesting; }

  std::optional<Stub> Take(const Spec& spec) {
    if (!Eligible(spec)) return std::nullopt;
    std::string key = ShapeKey(spec);
    std::lock_guard<std::mutex> l(mu_);
    if (count_ == 0 || stopping_) return std::nullopt;
    Slot* slot = nullptr;
    for (auto& s : slots_)
      if (s->key == key) slot = s.get();
    if (!slot) return std::nullopt;
    slot->used = ++tick_;
    cv_.notify_all();
    if (slot->ready.empty()) return std::nullopt;
    Stub st = std::move(slot->ready.front());
    slot->ready.pop_front();
    return st;
  }

  // A cold launch of `spec` worked: prewarm its shape from now on (shapes
  // that never launch are never prewarmed).
  void Remember(const Spec& spec) {
    if (!Eligible(spec)) return;
    std::string key = ShapeKey(spec);
    std::lock_guard<std::mutex> l(mu_);
    if (count_ == 0 || stopping_) return;
    Slot* slot = nullptr;
    for (auto& s : slots_)
      if (s->key == key) slot = s.get();
    if (!slot) {
      if (slots_.size() >= kMaxShapes) {
        // Forget the least recently used shape.
        auto lru = std::min_element(slots_.begin(), slots_.end(),
                                    [](const auto& a, const auto& b) { return a->used < b->used; });
        for (auto& st : (*lru)->ready) dead_.push_back(std::move(st));
        slots_.erase(lru);
      }
      auto s = std::make_unique<Slot>();
      s->key = key;
      s->templ = spec;
      s->templ.argv = {"/"};
      s->templ.env.clear();
      s->templ.cwd = "/";
      s->templ.stdin_fd = s->templ.stdout_fd = s->templ.stderr_fd = s->templ.pty_slave_fd = s->templ.inherit_fd = -1;
      s->templ.limits = Limits{};
      s->templ.limits.tmp_size_bytes = spec.limits.tmp_size_bytes;
      slot = s.get();
      slots_.push_back(std::move(s));
    }
    slot->used = ++tick_;
    slot->failures = 0;
    StartLocked();
    cv_.notify_all();
  }

  // A tree started on a stub ended (Wait): refills may run again.
  void Released() {
    std::lock_guard<std::mutex> l(mu_);
    if (busy_ > 0) --busy_;
    cv_.notify_all();
  }
  void Taken() {
    std::lock_guard<std::mutex> l(mu_);
    ++busy_;
    last_take_ = std::chrono::steady_clock::now();
    cv_.notify_all();
  }

  void Stop() {
    std::vector<Stub> drop;
    {
      std::unique_lock<std::mutex> l(mu_);
      stopping_ = true;
      cv_.notify_all();
      cv_.wait(l, [&] { return !working_; });
      for (auto& slot : slots_)
        for (auto& st : slot->ready) drop.push_back(std::move(st));
      for (auto& st : dead_) drop.push_back(std::move(st));
      slots_.clear();
      dead_.clear();
      cv_.notify_all();
    }
    for (auto& st : drop) DestroyStub(st);
  }

 private:
  static constexpr size_t kMaxShapes = 4;
  static constexpr std::chrono::milliseconds kRefillDelay{250};
  struct Slot {
    std::string key;
    Spec templ;
    std::deque<Stub> ready;
    uint64_t used = 0;
    int failures = 0;
  };

  Slot* Needy() {
    for (auto& s : slots_)
      if (static_cast<int>(s->ready.size()) < count_ && s->failures < 3) return s.get();
    return nullptr;
  }

  void StartLocked() {
    if (started_) return;
    started_ = true;
    std::thread([this] { Work(); }).detach();
  }

  // Building a sandbox takes CPU: not while a tree started on a stub is
  // still starting or running (it would compete with the very launch the
  // stub was for), unless that takes longer than kRefillDelay.
  bool Quiet() const { return busy_ == 0 || std::chrono::steady_clock::now() - last_take_ >= kRefillDelay; }

  void Work() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      while (!(stopping_ || !dead_.empty() || (Needy() != nullptr && Quiet()))) {
        if (Needy() != nullptr && busy_ > 0) {
          cv_.wait_until(l, last_take_ + kRefillDelay);
        } else {
          cv_.wait(l);
        }
      }
      if (stopping_) return;
      std::vector<Stub> dead = std::move(dead_);
      dead_.clear();
      Slot* slot = Quiet() ? Needy() : nullptr;
      std::string key;
      Spec templ;
      if (slot) {
        key = slot->key;
        templ = slot->templ;
      }
      working_ = true;
      l.unlock();
      for (auto& d : dead) DestroyStub(d);
      std::optional<Result<Stub>> made;
      if (slot) made.emplace(MakeStub(templ));
      l.lock();
      working_ = false;
      cv_.notify_all();
      if (!made) continue;
      Slot* now = nullptr;
      for (auto& s : slots_)
        if (s->key == key) now = s.get();
      if (!made->ok()) {
        if (now && ++now->failures == 3)
          spdlog::debug("sandbox: prewarming stopped for a spec shape: {}", made->error().message);
        continue;
      }
      if (stopping_) {
        working_ = true;  // Stop waits for this one to go too
        l.unlock();
        DestroyStub(**made);
        l.lock();
        working_ = false;
        cv_.notify_all();
        return;
      }
      if (!now || static_cast<int>(now->ready.size()) >= count_) {
        dead_.push_back(std::move(**made));
        continue;
      }
      now->failures = 0;
      now->ready.push_back(std::move(**made));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Stub> dead_;
  int count_ = 0;
  int busy_ = 0;  // trees started on stubs, not yet waited for
  std::chrono::steady_clock::time_point last_take_;
  bool started_ = false, stopping_ = false, working_ = false;
  uint64_t tick_ = 0;
};

void ReleaseWarm() { Pool::Get().Released(); }
void RememberShape(const Spec& spec) { Pool::Get().Remember(spec); }

// Launch on a stub. Errors before the go message leave the caller free to
// launch cold; `*sent` tells whether the stub got it.
Result<std::unique_ptr<Process>> LaunchWarm(const Spec& spec, Stub s, bool* sent) {
  *sent = false;
  const int64_t start_ms = NowMs();
  auto fail = [&](Error e) -> Result<std::unique_ptr<Process>> {
    DestroyStub(s);
    return e;
  };
  if (!internal::IsNormalizedPath(spec.cwd))
    return fail(Error::BadRequest("invalid_spec", "sandbox: cwd must be an absolute path"));
  if (SourceIds(spec) != s.sources || s.sources.size() != spec.mounts.size())
    return fail(Error::Internal("sandbox: a bind source changed since the stub was built"));
  if (s.cg) {
    if (auto set = s.cg->SetLimits(spec.limits); !set.ok()) return fail(set.error());
  }
  Plan x;
  if (auto planned = PlanExec(spec, s.cgroups, &x); !planned.ok()) return fail(planned.error());
  internal::GoHeader h{};
  h.magic = internal::kGoMagic;
  h.argc = static_cast<uint32_t>(spec.argv.size());
  h.envc = static_cast<uint32_t>(x.envp.size() - 1);
  h.pathc = static_cast<uint32_t>(x.exec_paths.size());
  h.n_rlimits = static_cast<uint32_t>(x.rlimits.size());
  h.inherit_fd = spec.inherit_fd;
  h.wall_time_ms = spec.limits.wall_time_ms;
  h.cpu_time_ms = spec.limits.cpu_time_ms;
  int send_fds[5];
  int nfds = 0;
  const int given[5] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd, spec.pty_slave_fd, spec.inherit_fd};
  for (int i = 0; i < 5; ++i) {
    if (given[i] < 0) continue;
    h.fd_mask |= 1u << i;
    send_fds[nfds++] = given[i];
  }
  std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
  msg.append(reinterpret_cast<const char*>(x.rlimits.data()), x.rlimits.size() * sizeof(internal::RlimitStep));
  auto add = [&](const char* str) { msg.append(str, std::strlen(str) + 1); };
  add(spec.cwd.c_str());
  for (size_t i = 0; i + 1 < x.argv.size(); ++i) add(x.argv[i]);
  for (size_t i = 0; i + 1 < x.envp.size(); ++i) add(x.envp[i]);
  for (const char* path : x.exec_paths) add(path);
  if (msg.size() > internal::kGoBufSize || h.argc + h.envc + h.pathc + 2 > internal::kGoMaxPtrs)
    return fail(Error::BadRequest("too_large", "sandbox: spec too large for a prewarmed sandbox"));
  union {
    char raw[CMSG_SPACE(5 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {msg.data(), msg.size()};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    mh.msg_control = control.raw;
    mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), send_fds, nfds * sizeof(int));
  }
  ssize_t n;
  while ((n = sendmsg(s.ctl, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(msg.size())) return fail(Error::FromErrno("sandbox: go message", errno));
  *sent = true;
  CloseFd(s.ctl);
  UniqueFd err_reader(s.err_r);
  s.err_r = -1;
  auto child = ReadChildError(err_reader.get());
  if (!child.ok()) {
    DestroyStub(s);
    return child.error();
  }
  auto proc = std::make_unique<ProcessImpl>(s.pid, s.pidfd, s.status_r, std::move(s.cg), spec.limits, true, start_ms,
                                            s.mntns, true);
  proc->SetWarm();
  Pool::Get().Taken();
  ++warm_launches;
  return std::unique_ptr<Process>(std::move(proc));
}

}  // namespace

uint64_t internal::PrewarmedLaunchCount() { return warm_launches.load(); }

void SetPrewarm(int count) {
  if (const char* env = std::getenv("PG_SANDBOX_PREWARM"); env && *env && count > 0) count = std::atoi(env);
  Pool::Get().SetCount(count);
}

Result<std::unique_ptr<Process>> Launch(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return Error::BadRequest("invalid_spec", "sandbox: argv must not be empty");
  if (spec.inherit_fd >= 0 && spec.inherit_fd < 3)
    return Error::BadRequest("invalid_spec", "sandbox: inherit_fd must be >= 3");
  if (spec.hostname.empty() || spec.hostname.size() > 64)
    return Error::BadRequest("invalid_spec", "sandbox: bad hostname");
  (void)HostCapabilities();
  if (auto stub = Pool::Get().Take(spec)) {
    bool sent = false;
    auto r = LaunchWarm(spec, std::move(*stub), &sent);
    // Before the go message nothing ran: a cold launch reports the same
    // spec errors, or works where the stub could not.
    if (r.ok() || sent) return r;
  }
  auto r = LaunchCold(spec);
  if (r.ok()) RememberShape(spec);
  return r;
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
