// The seccomp filter of a tree (libseccomp, compiled once per variant and
// exported as a BPF program the child loads with a raw prctl).
//
// Both variants deny what no program in a playground needs and what widens
// the kernel's attack surface: kexec, modules, bpf, perf_event_open, the key
// ring, ptrace and cross-process memory access, userfaultfd, io_uring,
// handle-based opens, port I/O, swap, reboot, clock setting, acct, quotas,
// TIOCSTI. The strict variant (every run, the workspace server) also denies
// mount and pivot_root/chroot, the new mount API, setns, and unshare/clone
// with any namespace flag (clone3 reports ENOSYS so libc falls back to
// clone, whose flags a filter can inspect). The nesting variant (the runner
// server) allows those so it can build its runs' sandboxes, which then load
// the strict variant on top.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "sandbox/internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace pg::sandbox::internal {
namespace {

constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                        CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET, CLONE_NEWTIME};

Result<std::vector<sock_filter>> Build(bool allow_nesting) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return Error::Internal("seccomp_init failed");
  struct Free {
    scmp_filter_ctx c;
    ~Free() { seccomp_release(c); }
  } free_ctx{ctx};
  // Other architectures' system call numbers (e.g. int 0x80) kill the process.
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);

  auto rule = [&](const char* name, uint32_t action, std::vector<scmp_arg_cmp> args = {}) -> Result<void> {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return Ok();  // not on this architecture
    int rc = seccomp_rule_add_array(ctx, action, nr, args.size(), args.data());
    if (rc != 0) return Error::Internal(std::string("seccomp rule for ") + name + " failed: " + std::to_string(rc));
    return Ok();
  };

  static const char* kAlwaysDenied[] = {
      "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
      "perf_event_open", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
      "process_vm_writev", "pidfd_getfd", "kcmp", "userfaultfd", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "swapon",
      "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "acct",
      "quotactl", "quotactl_fd", "lookup_dcookie", "uselib", "syslog", "vhangup", "nfsservctl",
      "fanotify_init", "mbind", "migrate_pages", "move_pages", "set_mempolicy", "_sysctl"};
  for (const char* name : kAlwaysDenied) PG_RETURN_IF_ERROR(rule(name, deny));

  // personality: deny the flags that weaken the address space layout or
  // change syscall semantics (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...).
  for (uint64_t bit : {0x0040000ull /*ADDR_NO_RANDOMIZE*/, 0x0400000ull /*READ_IMPLIES_EXEC*/,
                       0x0200000ull /*ADDR_COMPAT_LAYOUT*/, 0x0800000ull /*ADDR_LIMIT_32BIT*/,
                       0x8000000ull /*ADDR_LIMIT_3GB*/, 0x0100000ull /*MMAP_PAGE_ZERO*/,
                       0x4000000ull /*SHORT_INODE*/, 0x1000000ull /*WHOLE_SECONDS*/,
                       0x2000000ull /*STICKY_TIMEOUTS*/})
    // (the 0xf0000000 nibble keeps the query personality(0xffffffff) allowed)
    PG_RETURN_IF_ERROR(rule("personality", deny, {SCMP_A0(SCMP_CMP_MASKED_EQ, bit | 0xf0000000ull, bit)}));

  // TIOCSTI / TIOCLINUX: pushing input into a terminal we share.
  PG_RETURN_IF_ERROR(rule("ioctl", deny, {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)}));
  PG_RETURN_IF_ERROR(rule("ioctl", deny, {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX)}));

  // clone3 cannot be inspected: ENOSYS makes glibc fall back to clone.
  PG_RETURN_IF_ERROR(rule("clone3", SCMP_ACT_ERRNO(ENOSYS)));

  if (!allow_nesting) {
    static const char* kStrict[] = {"mount", "umount2", "pivot_root", "chroot", "setns", "fsopen",
                                    "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
                                    "mount_setattr"};
    for (const char* name : kStrict) PG_RETURN_IF_ERROR(rule(name, deny));
    for (uint64_t f : kNamespaceFlags) {
      PG_RETURN_IF_ERROR(rule("unshare", deny, {SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)}));
      // x86_64 clone(flags, stack, ...): flags is the first argument.
      PG_RETURN_IF_ERROR(rule("clone", deny, {SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)}));
    }
  }

  int fd = memfd_create("pg-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error::FromErrno("memfd_create", errno);
  UniqueFd mem(fd);
  if (int rc = seccomp_export_bpf(ctx, fd); rc != 0) return Error::Internal("seccomp_export_bpf failed");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return Error::Internal("seccomp: bad BPF export");
  std::vector<sock_filter> prog(size / sizeof(sock_filter));
  if (pread(fd, prog.data(), size, 0) != size) return Error::Internal("seccomp: reading the BPF export failed");
  return prog;
}

}  // namespace

Result<std::vector<sock_filter>> SeccompProgram(bool allow_nesting) {
  static std::mutex mu;
  static std::vector<sock_filter> cache[2];
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[allow_nesting ? 1 : 0];
  if (slot.empty()) {
    PG_ASSIGN_OR_RETURN(slot, Build(allow_nesting));
  }
  return slot;
}

bool ApplySeccomp(const Plan& plan, ChildError* e) {
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(plan.seccomp.size());
  prog.filter = const_cast<sock_filter*>(plan.seccomp.data());
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    e->what = "seccomp";
    e->path = nullptr;
    e->err = errno;
    return false;
  }
  return true;
}

}  // namespace pg::sandbox::internal
