// clone() into new namespaces and the child's life until exec.
//
// Privileged launches (we are root): the child is cloned into new pid,
// mount, net, ipc and uts namespaces, joins its cgroups, unshares a cgroup
// namespace, builds and pivots into its root as root, then drops to the
// sandbox's host uid/gid and only then enters a new user namespace where
// that uid appears as 1000. Every namespace but the user one is therefore
// owned by the host's user namespace: the tree can never remount, change
// its network or its hostname, whatever it does in its own user namespace.
//
// Unprivileged launches (rootless, or nested in a runner server): the user
// namespace comes first, the child maps its own uid to 1000 in it, and the
// rest happens with the capabilities that namespace gives.
//
// Then no_new_privs, no capabilities, seccomp, rlimits (only lowered), and
// a tiny init (pid 1) starts the main process (CLONE_VM|CLONE_VFORK: no copy
// of the address space): it reaps orphans, forwards signals that
// come from outside, enforces the wall and CPU time limits (killing
// everything with kill(-1, SIGKILL)), reports how the main process ended,
// and exits with it, which makes the kernel kill the rest of the namespace.
//
// A prewarmed sandbox (a stub, launch.cc) does all of this but the rlimits
// and the main process ahead of time, then waits on its control socket for
// the go message (argv, environment, cwd, rlimits, time limits, stdio).
//
// Everything here after clone is raw system calls on the prepared Plan.
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/internal.h"

namespace pg::sandbox::internal {
namespace {

bool Fail(ChildError* e, const char* what, const char* path = nullptr) {
  e->what = what;
  e->path = path;
  e->err = errno;
  return false;
}

bool WriteAll(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= n;
  }
  return true;
}

size_t Len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool WriteProcFile(const char* path, const char* data, ChildError* e) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Fail(e, "open", path);
  bool ok = WriteAll(fd, data, Len(data));
  int err = errno;
  close(fd);
  errno = err;
  return ok ? true : Fail(e, "write", path);
}

bool MapIds(const Plan& p, ChildError* e) {
  return WriteProcFile("/proc/self/setgroups", "deny", e) && WriteProcFile("/proc/self/uid_map", p.uid_map, e) &&
         WriteProcFile("/proc/self/gid_map", p.gid_map, e);
}

bool LoopbackUp(ChildError* e) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Fail(e, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  int err = errno;
  close(s);
  errno = err;
  return ok ? true : Fail(e, "bring up lo");
}

bool DropCapabilities(ChildError* e) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Fail(e, "no_new_privs");
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return Fail(e, "drop bounding capability");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return Fail(e, "clear ambient capabilities");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) != 0) return Fail(e, "capset");
  return true;
}

// The signals the init forwards (from outside) or handles.
const int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

void NoopHandler(int) {}

bool BlockSignals(sigset_t* set, ChildError* e) {
  sigemptyset(set);
  sigaddset(set, SIGCHLD);
  for (int s : kForwarded) sigaddset(set, s);
  // A handler (never run: the signals stay blocked) so the kernel does not
  // drop signals to a pid-namespace init whose disposition is the default.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = NoopHandler;
  for (int s : kForwarded) sigaction(s, &sa, nullptr);
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, set, nullptr, sizeof(uint64_t)) != 0) return Fail(e, "sigprocmask");
  return true;
}

// Closes every descriptor but those in keep[0..n) (sorted, >= 0).
void CloseAllBut(const int* keep, int n) {
  unsigned from = 0;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < 0) continue;
    if (static_cast<unsigned>(keep[i]) > from) syscall(SYS_close_range, from, keep[i] - 1, 0);
    from = keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

void Sort(int* a, int n) {
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && a[j - 1] > a[j]; --j) {
      int t = a[j];
      a[j] = a[j - 1];
      a[j - 1] = t;
    }
}

[[noreturn]] void Report(const Plan& p, const ChildError& e, int code) {
  WriteAll(p.err_w, &e, sizeof e);
  _exit(code);
}

// The main process, forked by the init.
[[noreturn]] void ExecMain(const Plan& p, const ExecPart& x) {
  ChildError e{};
  sigset_t empty;
  sigemptyset(&empty);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; ++s) sigaction(s, &dfl, nullptr);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof(uint64_t));
  if (setsid() < 0) Report(p, (Fail(&e, "setsid"), e), 126);
  int in = x.stdio[0], out = x.stdio[1], err = x.stdio[2];
  if (x.pty_fd >= 0) {
    if (ioctl(x.pty_fd, TIOCSCTTY, 0) != 0) Report(p, (Fail(&e, "TIOCSCTTY"), e), 126);
    in = out = err = x.pty_fd;
  }
  int null_fd = -1;
  if (in < 0 || out < 0 || err < 0) {
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) Report(p, (Fail(&e, "open", "/dev/null"), e), 126);
  }
  const int src[3] = {in < 0 ? null_fd : in, out < 0 ? null_fd : out, err < 0 ? null_fd : err};
  for (int i = 0; i < 3; ++i)
    if (dup2(src[i], i) < 0) Report(p, (Fail(&e, "dup2"), e), 126);
  if (x.inherit_src >= 0 && dup2(x.inherit_src, x.inherit_fd) < 0) Report(p, (Fail(&e, "dup2 inherited fd"), e), 126);
  int keep[5] = {0, 1, 2, p.err_w, x.inherit_src >= 0 ? x.inherit_fd : -1};
  Sort(keep, 5);
  CloseAllBut(keep, 5);
  umask(022);
  int first_err = ENOENT;
  for (size_t i = 0; i < x.n_exec_paths; ++i) {
    execve(x.exec_paths[i], x.argv, x.envp);
    if (errno != ENOENT && first_err == ENOENT) first_err = errno;
  }
  errno = first_err;
  Report(p, (Fail(&e, "execve", x.argv[0]), e), 127);
}

int64_t ParseInt(const char* s, const char* end) {
  int64_t v = 0;
  while (s < end && *s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

// CPU milliseconds of the whole tree: the cgroup's counter when we have one.
int64_t TreeCpuMs(const Plan& p) {
  if (p.cpu_usage_fd >= 0) {
    char buf[256];
    ssize_t n = pread(p.cpu_usage_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    if (p.cpu_usage_usec) {  // cpu.stat: "usage_usec N\n..."
      const char* k = "usage_usec ";
      for (ssize_t i = 0; i + 11 < n; ++i)
        if (memcmp(buf + i, k, 11) == 0) return ParseInt(buf + i + 11, buf + n) / 1000;
      return 0;
    }
    return ParseInt(buf, buf + n) / 1000000;
  }
  return -1;
}

struct InitTimers {
  int wall = -1, tick = -1;
};

// The wall-time deadline counts from before the main process starts.
InitTimers ArmTimers(const Plan& p, const ExecPart& x) {
  InitTimers t;
  if (x.wall_time_ms > 0) {
    t.wall = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {};
    its.it_value.tv_sec = x.wall_time_ms / 1000;
    its.it_value.tv_nsec = (x.wall_time_ms % 1000) * 1000000;
    timerfd_settime(t.wall, 0, &its, nullptr);
  }
  if (x.cpu_time_ms > 0 && p.cpu_usage_fd >= 0) {
    t.tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {};
    its.it_value.tv_nsec = its.it_interval.tv_nsec = 20 * 1000000;
    timerfd_settime(t.tick, 0, &its, nullptr);
  }
  return t;
}

[[noreturn]] void Init(const Plan& p, const ExecPart& x, pid_t main_pid, const sigset_t& set, InitTimers timers) {
  int keep[5] = {p.status_w, p.cpu_usage_fd, timers.wall, timers.tick, -1};
  Sort(keep, 5);
  CloseAllBut(keep, 5);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int wall = timers.wall, tick = timers.tick;
  InitReport report{};
  bool killed = false;
  for (;;) {
    struct pollfd fds[3] = {{sfd, POLLIN, 0}, {wall, POLLIN, 0}, {tick, POLLIN, 0}};
    int n = poll(fds, 3, -1);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      uint64_t ticks;
      (void)!read(wall, &ticks, sizeof ticks);
      if (!killed) report.reason = kEndWallTime;
      killed = true;
      kill(-1, SIGKILL);
      close(wall);
      wall = -1;
    }
    if (fds[2].revents & POLLIN) {
      uint64_t ticks;
      (void)!read(tick, &ticks, sizeof ticks);
      if (TreeCpuMs(p) >= x.cpu_time_ms) {
        if (!killed) report.reason = kEndCpuTime;
        killed = true;
        kill(-1, SIGKILL);
        close(tick);
        tick = -1;
      }
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) continue;
        if (si.ssi_pid == 0) kill(-1, si.ssi_signo);  // from outside the namespace
      }
    }
    for (;;) {
      int st = 0;
      pid_t w = wait4(-1, &st, WNOHANG, nullptr);
      if (w <= 0) break;
      if (w == main_pid) {
        report.wait_status = st;
        WriteAll(p.status_w, &report, sizeof report);
        _exit(0);
      }
    }
  }
  _exit(125);
}

// The sandbox itself: namespaces, cgroup, root, ids. Reports and exits on
// failure.
void ChildSetup(const Plan& p) {
  ChildError e{};
  close(p.err_r);
  close(p.status_r);
  if (p.ctl_fd >= 0) {
    // A stub may wait long: hold nothing of the parent's (its sockets,
    // other stubs' control sockets) but what it needs.
    int keep[8] = {p.err_w, p.status_w, p.ctl_fd, p.cpu_usage_fd, -1, -1, -1, -1};
    int n = 4;
    for (int fd : p.cgroup_procs_fds)
      if (n < 8) keep[n++] = fd;
    Sort(keep, 8);
    CloseAllBut(keep, 8);
  }
  umask(0);
  // A caller that changed uids is not dumpable: its /proc/self files would
  // belong to root and the id maps could not be written.
  if (!p.privileged) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (!p.privileged && !MapIds(p, &e)) Report(p, e, 126);
  for (int fd : p.cgroup_procs_fds) {
    if (write(fd, "0", 1) != 1) Report(p, (Fail(&e, "join cgroup"), e), 126);
    close(fd);
  }
  if (unshare(CLONE_NEWCGROUP) != 0) Report(p, (Fail(&e, "unshare cgroup namespace"), e), 126);
  if (sethostname(p.hostname, Len(p.hostname)) != 0) Report(p, (Fail(&e, "sethostname"), e), 126);
  if (!LoopbackUp(&e)) Report(p, e, 126);
  if (!ApplyMounts(p, &e)) Report(p, e, 126);
  if (p.privileged) {
    // Raw calls: libc's set*id would try to sync threads this copy lacks.
    if (syscall(SYS_setgroups, 0, nullptr) != 0) Report(p, (Fail(&e, "setgroups"), e), 126);
    if (syscall(SYS_setresgid, p.host_gid, p.host_gid, p.host_gid) != 0) Report(p, (Fail(&e, "setresgid"), e), 126);
    if (syscall(SYS_setresuid, p.host_uid, p.host_uid, p.host_uid) != 0) Report(p, (Fail(&e, "setresuid"), e), 126);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // so /proc/self/*_map belong to us
    if (unshare(CLONE_NEWUSER) != 0) Report(p, (Fail(&e, "unshare user namespace"), e), 126);
    if (!MapIds(p, &e)) Report(p, e, 126);
  }
}

// The same for every tree: no privileges, the init's signals blocked,
// seccomp. (A stub does this before it waits for the go message.)
void ChildLockDown(const Plan& p, sigset_t* set) {
  ChildError e{};
  if (!DropCapabilities(&e)) Report(p, e, 126);
  if (!BlockSignals(set, &e)) Report(p, e, 126);
  if (!ApplySeccomp(p, &e)) Report(p, e, 126);
}

struct MainArgs {
  const Plan* p;
  const ExecPart* x;
};

int MainEntry(void* arg) {
  auto* a = static_cast<MainArgs*>(arg);
  ExecMain(*a->p, *a->x);
}

// What runs: rlimits (only ever lowered: no privileges needed), then the
// init starts the main process. CLONE_VM|CLONE_VFORK on a stack of its own
// (as posix_spawn does): no copy of the address space, which is a copy of
// the launcher's; the init resumes once the main process has exec'd.
[[noreturn]] void ChildRun(const Plan& p, const ExecPart& x, const sigset_t& set) {
  ChildError e{};
  if (!ApplyRlimits(x.rlimits, x.n_rlimits, &e)) Report(p, e, 126);
  InitTimers timers = ArmTimers(p, x);
  MainArgs args{&p, &x};
  char* stack_top = const_cast<char*>(p.main_stack.data()) + p.main_stack.size();
  int pid = clone(MainEntry, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) Report(p, (Fail(&e, "fork main process"), e), 126);
  close(p.err_w);
  Init(p, x, static_cast<pid_t>(pid), set, timers);
}

// A stub: ready, then wait for the go message and parse it in place.
// Returns false when the parent is gone (or sent garbage): the stub exits.
bool AwaitGo(const Plan& p, ExecPart* x) {
  char one = 'R';
  if (send(p.ctl_fd, &one, 1, MSG_NOSIGNAL) != 1) return false;
  char* buf = const_cast<char*>(p.go_buf.data());
  char** ptrs = const_cast<char**>(p.go_ptrs.data());
  union {
    char raw[CMSG_SPACE(5 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {buf, p.go_buf.size()};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.raw;
  msg.msg_controllen = sizeof control.raw;
  ssize_t n;
  do {
    n = recvmsg(p.ctl_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < static_cast<ssize_t>(sizeof(GoHeader)) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) return false;
  int fds[5] = {-1, -1, -1, -1, -1};
  int nfds = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k && nfds < 5; ++i) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  // The stub closed 0-2, so received descriptors may land there: move them
  // up, as a cold launch's copies are (ExecMain dup2s onto 0-2).
  for (int i = 0; i < nfds; ++i) {
    if (fds[i] >= 3) continue;
    int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (high < 0) return false;
    close(fds[i]);
    fds[i] = high;
  }
  GoHeader h;
  memcpy(&h, buf, sizeof h);
  const size_t nptrs = static_cast<size_t>(h.argc) + h.envc + h.pathc + 2;
  const size_t rl_bytes = static_cast<size_t>(h.n_rlimits) * sizeof(RlimitStep);
  if (h.magic != kGoMagic || h.argc == 0 || nptrs > p.go_ptrs.size() || sizeof h + rl_bytes > static_cast<size_t>(n))
    return false;
  int f = 0;
  int* slots[5] = {&x->stdio[0], &x->stdio[1], &x->stdio[2], &x->pty_fd, &x->inherit_src};
  for (int i = 0; i < 5; ++i) {
    if (!(h.fd_mask & (1u << i))) continue;
    if (f >= nfds) return false;
    *slots[i] = fds[f++];
  }
  x->inherit_fd = h.inherit_fd;
  x->wall_time_ms = h.wall_time_ms;
  x->cpu_time_ms = h.cpu_time_ms;
  x->rlimits = reinterpret_cast<const RlimitStep*>(buf + sizeof h);
  x->n_rlimits = h.n_rlimits;
  // Strings: cwd, argv, envp, paths; every one must end inside the message.
  char* s = buf + sizeof h + rl_bytes;
  char* end = buf + n;
  auto next = [&](char** out) {
    char* q = s;
    while (q < end && *q) ++q;
    if (q >= end) return false;
    *out = s;
    s = q + 1;
    return true;
  };
  char* cwd;
  if (!next(&cwd)) return false;
  x->cwd = cwd;
  size_t k = 0;
  for (uint32_t i = 0; i < h.argc; ++i)
    if (!next(&ptrs[k++])) return false;
  ptrs[k++] = nullptr;
  x->argv = ptrs;
  x->envp = ptrs + k;
  for (uint32_t i = 0; i < h.envc; ++i)
    if (!next(&ptrs[k++])) return false;
  ptrs[k++] = nullptr;
  x->exec_paths = ptrs + k;
  x->n_exec_paths = h.pathc;
  for (uint32_t i = 0; i < h.pathc; ++i)
    if (!next(&ptrs[k++])) return false;
  return true;
}

[[noreturn]] void ChildMain(const Plan& p) {
  ChildSetup(p);
  sigset_t set;
  ChildLockDown(p, &set);
  if (p.ctl_fd < 0) ChildRun(p, ExecOf(p), set);
  ExecPart x;
  if (!AwaitGo(p, &x)) _exit(0);
  close(p.ctl_fd);
  if (chdir(x.cwd) != 0) {
    ChildError e{};
    Report(p, (Fail(&e, "chdir", x.cwd), e), 126);
  }
  ChildRun(p, x, set);
}

}  // namespace

ExecPart ExecOf(const Plan& p) {
  ExecPart x;
  x.argv = p.argv.data();
  x.envp = p.envp.data();
  x.exec_paths = p.exec_paths.data();
  x.n_exec_paths = p.exec_paths.size();
  x.cwd = p.cwd;
  x.rlimits = p.rlimits.data();
  x.n_rlimits = p.rlimits.size();
  for (int i = 0; i < 3; ++i) x.stdio[i] = p.stdio[i];
  x.pty_fd = p.pty_fd;
  x.inherit_src = p.inherit_src;
  x.inherit_fd = p.inherit_fd;
  x.wall_time_ms = p.wall_time_ms;
  x.cpu_time_ms = p.cpu_time_ms;
  return x;
}

Result<pid_t> CloneChild(Plan* plan, int* pidfd) {
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
  if (!plan->privileged) flags |= CLONE_NEWUSER;
  int fd = -1;
  long pid = syscall(SYS_clone, flags, 0, &fd, 0, 0);
  if (pid < 0) return Error::FromErrno("sandbox: clone", errno);
  if (pid == 0) {
    if (plan->ctl_peer >= 0) close(plan->ctl_peer);
    ChildMain(*plan);
  }
  *pidfd = fd;
  return static_cast<pid_t>(pid);
}

}  // namespace pg::sandbox::internal
