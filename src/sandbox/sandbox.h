// Sandboxed process trees on the kernel's own primitives: namespaces
// (user, pid, mount, net, ipc, uts, cgroup), pivot_root into a minimal root,
// cgroups (v1, v2 or the v1+v2 hybrid) with an rlimit fallback, seccomp,
// no_new_privs and no capabilities. Used by the local orchestrator for the
// two containers of a playground and by the runner server for every run.
//
// One file per concern: namespaces.cc, mounts.cc, cgroups.cc, seccomp.cc,
// users.cc, rlimits.cc; launch.cc puts them together. docs/sandbox.md holds
// the threat model and the policy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/result.h"

namespace pg::sandbox {

// A host path made visible inside the sandbox.
struct BindMount {
  std::string source;  // absolute host path (must exist)
  std::string target;  // absolute path inside the sandbox
  bool writable = false;
};

// Hard limits. 0 means "no limit of this kind from this spec" (a parent's
// limits still apply).
struct Limits {
  int64_t memory_bytes = 0;      // cgroup memory (+swap) limit; RLIMIT_AS fallback
  int64_t pids = 0;              // cgroup pids.max; RLIMIT_NPROC fallback
  int64_t cpu_quota_millis = 0;  // CPU bandwidth, 1000 = one core
  int64_t cpu_time_ms = 0;       // total CPU time of the tree (RLIMIT_CPU + cgroup accounting)
  int64_t wall_time_ms = 0;      // wall clock from start; the tree is killed at the deadline
  int64_t open_files = 0;        // RLIMIT_NOFILE
  int64_t file_size_bytes = 0;   // RLIMIT_FSIZE
  int64_t tmp_size_bytes = 64ll << 20;  // size of the private tmpfs at /tmp
};

struct Spec {
  std::vector<std::string> argv;  // argv[0] is resolved inside the sandbox's root
  std::vector<std::string> env;   // "K=V"; nothing of the caller's environment leaks in
  std::string cwd = "/";

  // Empty: a read-only view of the host's /usr, /bin, /lib*, /sbin and the
  // /etc files programs need. Otherwise a rootfs directory, mounted read-only.
  std::string rootfs;
  std::vector<BindMount> mounts;  // e.g. the volume at /workspace, writable

  Limits limits;

  // Cgroup of the tree, relative to the sandbox's cgroup root (e.g.
  // "playground/<id>/runner"). Empty: a fresh unique name is chosen.
  std::string cgroup;
  // The tree may itself start nested sandboxes (the runner container): it
  // gets a user namespace it may create children in, and its cgroup subtree
  // is delegated to it. Code inside a nested sandbox never gets this.
  bool allow_nesting = false;

  std::string hostname = "playground";

  // May be served by a prewarmed sandbox (see SetPrewarm) when one of the
  // same shape is ready. false: always a cold launch.
  bool use_prewarmed = true;

  // Host uid and gid the tree runs as; inside they appear as uid/gid 1000.
  // 0: the sandbox's default unprivileged uid. Never root on the host.
  uid_t host_uid = 0;
  gid_t host_gid = 0;

  // Standard streams of the tree's main process; -1 means /dev/null. The
  // descriptors are duplicated, the caller keeps its own.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // When >= 0: this is the slave side of a PTY, made the controlling
  // terminal of the main process (and its stdin/stdout/stderr).
  int pty_slave_fd = -1;

  // A descriptor passed through to the main process at the same number
  // (e.g. a listening socket). -1: none.
  int inherit_fd = -1;
};

// How a tree ended.
struct Outcome {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when it was killed by a signal
  int64_t cpu_ms = 0;
  int64_t wall_ms = 0;
  int64_t peak_memory_kb = 0;
  bool timed_out = false;         // wall or CPU time limit
  bool memory_exceeded = false;   // OOM-killed at the memory limit
  bool pids_exceeded = false;     // fork failed at the pids limit
};

// A running sandboxed tree. Destroying the handle kills the whole tree.
class Process {
 public:
  virtual ~Process() = default;
  // The main process's pid in the caller's pid namespace.
  virtual pid_t pid() const = 0;
  // A pidfd of the main process: readable once it has exited (for poll/epoll
  // and asio::posix::stream_descriptor).
  virtual int pidfd() const = 0;
  // Sends `sig` to every process of the tree.
  virtual void Signal(int sig) = 0;
  // Kills every process of the tree (SIGKILL); idempotent.
  virtual void Kill() = 0;
  // Reaps the tree once the main process has exited (blocks until then),
  // kills what is left of it, and reports. Call once.
  virtual Result<Outcome> Wait() = 0;
  // Cgroup accounting so far (cpu, memory peak); best effort.
  virtual Outcome Usage() const = 0;
};

// What the sandbox can do on this host, probed once.
struct Capabilities {
  bool user_namespaces = false;
  bool cgroups = false;        // limits enforced through cgroups
  std::string cgroup_mode;     // "v2", "v1", "hybrid" or "none"
  std::string detail;          // e.g. "cgroups unavailable (rootless): limits are rlimits only"
};
const Capabilities& HostCapabilities();

// Starts a sandboxed tree. Fails (and leaves nothing behind) when any step
// of the isolation cannot be applied.
Result<std::unique_ptr<Process>> Launch(const Spec& spec);

// Prewarming: keep `count` sandboxes per recently launched spec shape
// (root, binds, hostname, /tmp size, host ids) built ahead of time in a
// background thread, each waiting for what to run; a Launch of a matching
// spec then only writes its cgroup limits, hands over argv, environment,
// rlimits and descriptors, and execs. Each prewarmed sandbox serves one
// launch (same isolation as a cold launch). Only specs without a named
// cgroup and without allow_nesting are prewarmed. 0 (the default) turns it
// off; $PG_SANDBOX_PREWARM overrides a non-zero `count` (0 disables) and,
// when set, turns prewarming on in any process (e.g. the tests).
void SetPrewarm(int count);

// Re-attaches to a tree started by an earlier process (after a hub restart),
// by its main pid and cgroup. Fails when it no longer runs.
Result<std::unique_ptr<Process>> Attach(pid_t pid, const std::string& cgroup);

// Kills every process in `cgroup` and removes it and its children (orphan
// cleanup). Missing cgroups are fine.
Result<void> DestroyCgroup(const std::string& cgroup);
// Names of the child cgroups under `parent` (e.g. "playground" → ids).
std::vector<std::string> ListCgroups(const std::string& parent);

}  // namespace pg::sandbox
