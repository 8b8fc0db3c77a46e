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
// Then rlimits, no_new_privs, no capabilities, seccomp, and a tiny init
// (pid 1) forks the main process: it reaps orphans, forwards signals that
// come from outside, enforces the wall and CPU time limits (killing
// everything with kill(-1, SIGKILL)), reports how the main process ended,
// and exits with it, which makes the kernel kill the rest of the namespace.
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
[[noreturn]] void ExecMain(const Plan& p) {
  ChildError e{};
  sigset_t empty;
  sigemptyset(&empty);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; ++s) sigaction(s, &dfl, nullptr);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof(uint64_t));
  if (setsid() < 0) Report(p, (Fail(&e, "setsid"), e), 126);
  int in = p.stdio[0], out = p.stdio[1], err = p.stdio[2];
  if (p.pty_fd >= 0) {
    if (ioctl(p.pty_fd, TIOCSCTTY, 0) != 0) Report(p, (Fail(&e, "TIOCSCTTY"), e), 126);
    in = out = err = p.pty_fd;
  }
  int null_fd = -1;
  if (in < 0 || out < 0 || err < 0) {
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) Report(p, (Fail(&e, "open", "/dev/null"), e), 126);
  }
  const int src[3] = {in < 0 ? null_fd : in, out < 0 ? null_fd : out, err < 0 ? null_fd : err};
  for (int i = 0; i < 3; ++i)
    if (dup2(src[i], i) < 0) Report(p, (Fail(&e, "dup2"), e), 126);
  if (p.inherit_src >= 0 && dup2(p.inherit_src, p.inherit_fd) < 0) Report(p, (Fail(&e, "dup2 inherited fd"), e), 126);
  int keep[5] = {0, 1, 2, p.err_w, p.inherit_src >= 0 ? p.inherit_fd : -1};
  Sort(keep, 5);
  CloseAllBut(keep, 5);
  umask(022);
  int first_err = ENOENT;
  for (const char* path : p.exec_paths) {
    execve(path, p.argv.data(), p.envp.data());
    if (errno != ENOENT && first_err == ENOENT) first_err = errno;
  }
  errno = first_err;
  Report(p, (Fail(&e, "execve", p.argv[0]), e), 127);
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

[[noreturn]] void Init(const Plan& p, pid_t main_pid, const sigset_t& set) {
  int keep[3] = {p.status_w, p.cpu_usage_fd, -1};
  Sort(keep, 3);
  CloseAllBut(keep, 3);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int wall = -1, tick = -1;
  if (p.wall_time_ms > 0) {
    wall = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {};
    its.it_value.tv_sec = p.wall_time_ms / 1000;
    its.it_value.tv_nsec = (p.wall_time_ms % 1000) * 1000000;
    timerfd_settime(wall, 0, &its, nullptr);
  }
  if (p.cpu_time_ms > 0 && p.cpu_usage_fd >= 0) {
    tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {};
    its.it_value.tv_nsec = its.it_interval.tv_nsec = 20 * 1000000;
    timerfd_settime(tick, 0, &its, nullptr);
  }
  InitReport report{};
  bool killed = false;
  for (;;) {
    struct pollfd fds[3] = {{sfd, POLLIN, 0}, {wall, POLLIN, 0}, {tick, POLLIN, 0}};
    int n = poll(fds, 3, -1);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      uint64_t x;
      (void)!read(wall, &x, sizeof x);
      if (!killed) report.reason = kEndWallTime;
      killed = true;
      kill(-1, SIGKILL);
      close(wall);
      wall = -1;
    }
    if (fds[2].revents & POLLIN) {
      uint64_t x;
      (void)!read(tick, &x, sizeof x);
      if (TreeCpuMs(p) >= p.cpu_time_ms) {
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

[[noreturn]] void ChildMain(const Plan& p) {
  ChildError e{};
  close(p.err_r);
  close(p.status_r);
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
  if (!ApplyRlimits(p, &e)) Report(p, e, 126);
  if (!DropCapabilities(&e)) Report(p, e, 126);
  sigset_t set;
  if (!BlockSignals(&set, &e)) Report(p, e, 126);
  if (!ApplySeccomp(p, &e)) Report(p, e, 126);
  long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) Report(p, (Fail(&e, "fork main process"), e), 126);
  if (pid == 0) ExecMain(p);
  close(p.err_w);
  Init(p, static_cast<pid_t>(pid), set);
}

}  // namespace

Result<pid_t> CloneChild(Plan* plan, int* pidfd) {
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
  if (!plan->privileged) flags |= CLONE_NEWUSER;
  int fd = -1;
  long pid = syscall(SYS_clone, flags, 0, &fd, 0, 0);
  if (pid < 0) return Error::FromErrno("sandbox: clone", errno);
  if (pid == 0) ChildMain(*plan);
  *pidfd = fd;
  return static_cast<pid_t>(pid);
}

}  // namespace pg::sandbox::internal
