// Resource limits of the tree. With cgroups they only back up what cgroups
// cannot do per process (CPU seconds, file size, open files, no core dumps);
// without cgroups (rootless) they are the memory and process limits too:
// RLIMIT_AS per process and RLIMIT_NPROC per sandbox (counted in the
// sandbox's own user namespace).
#include <sys/resource.h>

#include <cerrno>

#include "sandbox/internal.h"

namespace pg::sandbox::internal {

void PlanRlimits(const Limits& limits, bool cgroups_enforce, Plan* plan) {
  auto set = [&](int res, rlim_t soft, rlim_t hard) { plan->rlimits.push_back({res, {soft, hard}}); };
  set(RLIMIT_CORE, 0, 0);
  if (limits.cpu_time_ms > 0) {
    rlim_t secs = (limits.cpu_time_ms + 999) / 1000;
    set(RLIMIT_CPU, secs, secs + 1);  // SIGXCPU, then SIGKILL a second later
  }
  if (limits.open_files > 0) set(RLIMIT_NOFILE, limits.open_files, limits.open_files);
  if (limits.file_size_bytes > 0) set(RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes);
  if (!cgroups_enforce) {
    if (limits.memory_bytes > 0) set(RLIMIT_AS, limits.memory_bytes, limits.memory_bytes);
    // +1: the tiny init counts too.
    if (limits.pids > 0) set(RLIMIT_NPROC, limits.pids + 1, limits.pids + 1);
  }
}

bool ApplyRlimits(const RlimitStep* steps, size_t n, ChildError* e) {
  for (size_t i = 0; i < n; ++i) {
    const RlimitStep& r = steps[i];
    struct rlimit cur;
    struct rlimit v = r.value;
    // Never raise a hard limit we were given (that needs privileges we drop).
    if (getrlimit(r.resource, &cur) == 0) {
      if (cur.rlim_max != RLIM_INFINITY && (v.rlim_max == RLIM_INFINITY || v.rlim_max > cur.rlim_max))
        v.rlim_max = cur.rlim_max;
      if (v.rlim_cur > v.rlim_max) v.rlim_cur = v.rlim_max;
    }
    if (setrlimit(r.resource, &v) != 0) {
      e->what = "setrlimit";
      e->path = nullptr;
      e->err = errno;
      return false;
    }
  }
  return true;
}

}  // namespace pg::sandbox::internal
