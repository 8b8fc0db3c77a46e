// The local orchestrator: each playground is a directory volume under
// <data-dir>/volumes/<id> and two sandboxed process trees on this machine
// (workspace server, runner server) that listen on unix sockets under
// <data-dir>/run/<id>/ and have no network of their own.
#pragma once

#include <memory>
#include <string>

#include "orchestrator/orchestrator.h"

namespace pg::orchestrator {

struct LocalConfig {
  std::string data_dir;          // absolute
  std::string binary;            // the playground binary run inside the containers (absolute)
  bool supervise = true;         // restart crashed containers with backoff
  // Playgrounds with default limits kept made and running ahead of time, so
  // that a create only moves one into place (see TakeWarmSlot). 0: none.
  int warm_pool = 0;
};

std::unique_ptr<Orchestrator> MakeLocalOrchestrator(const LocalConfig& config);

// The cgroup (relative to the sandbox's cgroup root) under which the hub
// using `data_dir` keeps its playgrounds: "playground/<hash of data_dir>",
// so that hubs sharing a machine never touch each other's playgrounds.
std::string LocalCgroupParent(const std::string& data_dir);

}  // namespace pg::orchestrator
