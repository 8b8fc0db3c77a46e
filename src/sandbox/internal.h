// Internals of the sandbox shared by its files (not for other modules).
//
// Launch prepares everything in the parent (a Plan: paths, mount steps,
// argv/envp arrays, the seccomp program, open cgroup files) and then clones.
// The child runs in a copy of a possibly multi-threaded process, so it only
// makes raw system calls on the prepared data: no allocation, no locks, no
// stdio, nothing that could wait on a lock another thread held at clone time.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace pg::sandbox::internal {

// Where a failing step in the child reports to (written to the error pipe).
struct ChildError {
  const char* what = nullptr;  // points into the parent's Plan / literals
  const char* path = nullptr;
  int err = 0;
};

// Messages from the tiny init to the parent over the status pipe.
enum : int { kEndExited = 0, kEndWallTime = 1, kEndCpuTime = 2 };
struct InitReport {
  int wait_status = 0;  // of the main process
  int reason = kEndExited;
};

// One step of building the root, executed in order by the child.
struct MountStep {
  enum Kind { kMount, kSetAttr, kMkdir, kMkfile, kSymlink, kWriteFile } kind;
  const char* a = nullptr;  // mount: source; symlink: target; others: path
  const char* b = nullptr;  // mount: target; symlink: link path
  const char* fstype = nullptr;
  unsigned long flags = 0;  // mount flags / mount_setattr attr_set
  const char* data = nullptr;
  size_t len = 0;           // kWriteFile
  unsigned mode = 0;        // kMkdir / kMkfile / kWriteFile
  bool recursive = false;   // kSetAttr
};

struct RlimitStep {
  int resource;
  struct rlimit value;
};

// What the main process needs (argv, environment, stdio, rlimits, time
// limits): from the Plan for a direct launch, or from the go message for a
// prewarmed sandbox. Raw pointers into the Plan or the child's go buffer.
struct ExecPart {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* const* exec_paths = nullptr;
  size_t n_exec_paths = 0;
  const char* cwd = "/";
  const RlimitStep* rlimits = nullptr;
  size_t n_rlimits = 0;
  int stdio[3] = {-1, -1, -1};
  int pty_fd = -1;
  int inherit_src = -1;
  int inherit_fd = -1;
  int64_t wall_time_ms = 0;
  int64_t cpu_time_ms = 0;
};

// The go message of a prewarmed sandbox (parent → stub over a SOCK_SEQPACKET
// socket, with the descriptors as SCM_RIGHTS in the order of `fd_mask` bits:
// stdin, stdout, stderr, pty, inherited). Followed by n_rlimits RlimitSteps,
// then NUL-terminated strings: cwd, argv..., envp..., exec paths....
struct GoHeader {
  uint32_t magic;
  uint32_t argc, envc, pathc, n_rlimits;
  uint32_t fd_mask;
  int32_t inherit_fd;
  uint32_t pad;
  int64_t wall_time_ms, cpu_time_ms;
};
constexpr uint32_t kGoMagic = 0x70676f21;
constexpr size_t kGoBufSize = 64 * 1024;  // larger messages launch cold
constexpr size_t kGoMaxPtrs = 2048;

// Everything the child needs, prepared by the parent.
struct Plan {
  std::deque<std::string> strings;  // owns every string the raw pointers point to
  const char* Keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }

  bool privileged = false;  // mode A: we are root; set up, then enter a user namespace
  uid_t host_uid = 0;
  gid_t host_gid = 0;
  const char* uid_map = nullptr;  // "1000 <outer uid> 1"
  const char* gid_map = nullptr;

  const char* hostname = nullptr;
  const char* stage = nullptr;  // directory the new root is mounted on
  std::vector<MountStep> steps;
  const char* cwd = "/";

  std::vector<int> cgroup_procs_fds;  // cgroup.procs files to join
  int cpu_usage_fd = -1;              // the tree's cpu usage file for the init (or -1)
  bool cpu_usage_usec = false;        // v2 cpu.stat (usage_usec) vs v1 cpuacct.usage (ns)

  std::vector<RlimitStep> rlimits;
  std::vector<sock_filter> seccomp;  // the program for the tree

  std::vector<const char*> exec_paths;  // candidates for argv[0] (PATH search done here)
  std::vector<char*> argv;              // null-terminated
  std::vector<char*> envp;              // null-terminated

  int stdio[3] = {-1, -1, -1};  // fds to dup onto 0, 1, 2 (CLOEXEC copies)
  int pty_fd = -1;              // make this the controlling terminal
  int inherit_src = -1;         // CLOEXEC copy of the fd to pass through
  int inherit_fd = -1;          // its number in the main process

  int err_w = -1;     // CLOEXEC error pipe (child → parent)
  int err_r = -1;
  int status_w = -1;  // init → parent: InitReport
  int status_r = -1;

  int64_t wall_time_ms = 0;
  int64_t cpu_time_ms = 0;

  // Prewarmed sandbox (a stub): after building everything that does not
  // depend on what runs, the child reports ready on ctl_fd and waits there
  // for the go message; ctl_peer is the parent's end. Buffers sized here,
  // before clone, so the child never allocates.
  int ctl_fd = -1;
  int ctl_peer = -1;
  std::vector<char> main_stack = std::vector<char>(64 * 1024);  // the main process's until it execs
  std::vector<char> go_buf;
  std::vector<char*> go_ptrs;
};

// Launches served by a prewarmed sandbox so far in this process (tests).
uint64_t PrewarmedLaunchCount();

// The plan's own ExecPart (direct launches).
ExecPart ExecOf(const Plan& plan);

// users.cc: /etc/passwd and /etc/group of the sandbox, default host ids.
std::string PasswdFile();
std::string GroupFile();
std::string HostsFile(const std::string& hostname);
uid_t DefaultHostUid();
gid_t DefaultHostGid();
constexpr uid_t kSandboxUid = 1000;
constexpr gid_t kSandboxGid = 1000;

// mounts.cc: the steps that build the root (parent side).
struct CgroupBind {
  std::string source;  // host path of the delegated cgroup directory
  std::string target;  // path inside, e.g. /sys/fs/cgroup/memory
};
Result<void> PlanMounts(const Spec& spec, const std::vector<CgroupBind>& cgroup_binds, Plan* plan);
// Initializes the per-process caches of mounts.cc (before an atexit
// handler that must outlive them is registered).
void PrimeMounts();
// An absolute path without "", ".", ".." components or a trailing slash.
bool IsNormalizedPath(const std::string& p);
// Child side: runs plan.steps, pivots into the stage. Returns false with
// *e set on failure.
bool ApplyMounts(const Plan& plan, ChildError* e);

// rlimits.cc
void PlanRlimits(const Limits& limits, bool cgroups_enforce, Plan* plan);
bool ApplyRlimits(const RlimitStep* steps, size_t n, ChildError* e);

// seccomp.cc: the compiled filter for a tree (cached per variant).
Result<std::vector<sock_filter>> SeccompProgram(bool allow_nesting);
bool ApplySeccomp(const Plan& plan, ChildError* e);

// namespaces.cc: clone + the child's whole life until exec, the tiny init.
// Returns the pid and sets *pidfd, or an errno-based error.
Result<pid_t> CloneChild(Plan* plan, int* pidfd);

// cgroups.cc
struct CgroupLayout {
  std::string mode;  // "v2", "v1", "hybrid", "none"
  std::string v2_root;  // mount point of the unified hierarchy when it holds our controllers
  // v1: controller → mount point (memory, pids, cpu, cpuacct).
  std::vector<std::pair<std::string, std::string>> v1;
  bool usable = false;     // we can create cgroups and set limits
  std::string why_not;     // when !usable
};
const CgroupLayout& Layout();

// A created cgroup (one directory per hierarchy).
class Cgroup {
 public:
  // Creates (or reuses) `name` with `limits`. For `delegate`, the subtree is
  // chowned to uid/gid and (v2) the tree is placed in a leaf "<name>/init".
  static Result<std::unique_ptr<Cgroup>> Create(const std::string& name, const Limits& limits, bool delegate,
                                                uid_t uid, gid_t gid);
  // Refers to an existing cgroup without changing it.
  static std::unique_ptr<Cgroup> Existing(const std::string& name);
  // Writes the limits of a cgroup made by Create (a prewarmed sandbox's
  // cgroup gets its limits when it is taken).
  Result<void> SetLimits(const Limits& limits) const;

  const std::string& name() const { return name_; }
  // Opens the cgroup.procs file(s) the tree joins (O_WRONLY|O_CLOEXEC).
  Result<std::vector<int>> OpenProcs() const;
  // Opens the cpu usage file (O_RDONLY|O_CLOEXEC), sets *usec for v2.
  int OpenCpuUsage(bool* usec) const;
  // Host paths to bind into a nesting tree and where.
  std::vector<CgroupBind> DelegatedBinds() const;
  // Accounting so far.
  void Fill(Outcome* out) const;
  // True when some process of the cgroup (or a child) still runs.
  bool Populated() const;
  // SIGKILLs everything in it (recursively).
  void KillAll() const;
  // Sends `sig` once to every process in it (recursively).
  void SignalAll(int sig) const;
  // Kills everything and removes the directories (children first).
  Result<void> Destroy() const;

 private:
  std::string name_;
  std::vector<std::string> dirs_;  // one per hierarchy; v2: just one
  std::string memory_dir_, pids_dir_, cpuacct_dir_, v2_dir_;
};

Result<void> ValidateCgroupName(const std::string& name);

}  // namespace pg::sandbox::internal
