// "process" isolation: a run as a plain child process tree of the runner
// server, for hosts where pg::sandbox::Launch cannot create namespaces (e.g.
// a Docker container without CAP_SYS_ADMIN). Much weaker than the sandbox:
// no namespaces, no mounts (Spec::mounts and rootfs are ignored, so the
// caller must use host paths), no cgroups. What it does enforce: its own
// session and process group, rlimits (CPU, file size, open files, core 0,
// processes when not root), a uid drop when the server is root and
// Spec::host_uid is set, and the tree is found through /proc (session id and
// /proc/PID/task/TID/children) for Signal, Kill and Usage (RSS and CPU of
// the whole tree, which the runner's watchdog checks against the limits).
#pragma once

#include <memory>

#include "sandbox/sandbox.h"

namespace pg::runner {

// Same contract as pg::sandbox::Launch, with the weaker isolation above.
// Each run is a keeper (own session, child subreaper: whatever the program
// starts, setsid + double-fork daemons included, re-parents to it, and it
// kills all of it once the program has ended) and the program, which runs
// under no_new_privs and the sandbox's strict seccomp filter. All of it
// unprivileged (docs/docker.md, "Runs inside the runner container").
Result<std::unique_ptr<sandbox::Process>> LaunchDirect(const sandbox::Spec& spec);

// For a server process whose only children are LaunchDirect's keepers (the
// runner server in process isolation): makes it a child subreaper too, and
// from then on every run's end also SIGKILLs and reaps each child of this
// process that is not a live keeper — what is left of a run whose keeper
// was killed (by the run itself: same uid). Never in a process with other
// children (a test binary).
void AdoptOrphansOfRuns();

}  // namespace pg::runner
