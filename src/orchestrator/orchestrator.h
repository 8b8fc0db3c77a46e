// The Orchestrator interface: where a playground's storage and its two
// containers (workspace server, runner server) live. Implementations:
// local (sandboxed process trees on this machine), docker (Docker Engine
// API), ecs (AWS ECS on Fargate with EFS). The hub owns the lifecycle state
// machine and the registry; an orchestrator only acts and reports.
//
// Thread-safety: every method may block (seconds, for ECS) and is called from
// the hub's worker threads, possibly concurrently for different playgrounds,
// never concurrently for the same playground id.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/result.h"

namespace pg::orchestrator {

// Per-playground resource limits (both containers together unless noted).
struct Limits {
  int64_t memory_mb = 1024;    // memory of each container
  int64_t cpu_millis = 1000;   // CPU quota per container, 1000 = one core
  int64_t pids = 256;          // processes per container
  int64_t disk_mb = 1024;      // volume quota
};

// What the hub knows of one playground. `resources` holds what the
// orchestrator recorded through RecordFn in earlier calls (ARNs, ids, paths).
struct PlaygroundSpec {
  std::string id;
  std::string template_name = "blank";
  Limits limits;
  std::map<std::string, std::string> resources;
};

// How the hub reaches the two servers of a running playground.
struct Backends {
  Endpoint workspace;
  Endpoint runner;
};

// Records one resource (key → id) in the registry, durably, before the call
// returns; orchestrators call it as soon as a resource exists so that a hub
// killed mid-create can still delete it.
using RecordFn = std::function<void(const std::string& key, const std::string& value)>;

struct Health {
  bool workspace_up = false;
  bool runner_up = false;
  int restarts = 0;       // container restarts since the playground started
  std::string detail;     // human-readable; e.g. "cgroups unavailable: rlimits only"
};

using Clock = std::chrono::steady_clock;

class Orchestrator {
 public:
  virtual ~Orchestrator() = default;

  virtual std::string Name() const = 0;

  // Before a create: the id of a playground this orchestrator made ahead of
  // time for `limits` (a warm slot), now reserved for the caller, who must
  // register the playground under that id and then call CreateVolume and
  // Start as usual; "" when there is none (the caller picks a new id).
  virtual std::string TakeWarmSlot(const Limits& limits) {
    (void)limits;
    return "";
  }

  // Creates the playground's storage and seeds it from its template.
  // Idempotent: an existing volume is kept as it is.
  virtual Result<void> CreateVolume(const PlaygroundSpec& spec, const RecordFn& record) = 0;

  // Starts both containers and returns once both servers answer, or fails at
  // `deadline` (leaving nothing running). Precondition: CreateVolume succeeded.
  virtual Result<Backends> Start(const PlaygroundSpec& spec, const RecordFn& record, Clock::time_point deadline) = 0;

  // Stops both containers and keeps the storage. Stopping a stopped
  // playground succeeds.
  virtual Result<void> Stop(const PlaygroundSpec& spec) = 0;

  // Stops everything and removes the storage and every other resource of the
  // playground. Anything already gone counts as removed.
  virtual Result<void> Destroy(const PlaygroundSpec& spec) = 0;

  // After a hub restart: takes back a playground the registry says is
  // running. Returns its backends when its containers still run (or could be
  // started again), an error when it cannot be recovered.
  virtual Result<Backends> Adopt(const PlaygroundSpec& spec, Clock::time_point deadline) = 0;

  // Ids of every playground this orchestrator holds anything for, so that
  // the hub can remove those no registry row owns.
  virtual Result<std::vector<std::string>> ListOwned() = 0;

  // Removes everything held for an id no registry row owns (an orphan).
  virtual Result<void> DestroyOrphan(const std::string& id) = 0;

  virtual Health Status(const std::string& id) = 0;

  // Called once when the hub exits. Playgrounds keep running, to be adopted
  // by the next hub.
  virtual void Shutdown() {}
};

// Checks that both servers of `backends` answer GET /healthz, polling until
// `deadline`. Shared by orchestrators.
Result<void> WaitReady(const Backends& backends, Clock::time_point deadline);

}  // namespace pg::orchestrator
