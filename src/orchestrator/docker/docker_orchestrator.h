// The docker orchestrator: each playground is a labelled named volume and
// two labelled containers (workspace, runner) created through the Docker
// Engine API over its unix socket. See docs/docker.md.
#pragma once

#include <memory>
#include <string>

#include "orchestrator/orchestrator.h"

namespace pg::orchestrator {

struct DockerConfig {
  std::string data_dir;  // absolute; sockets live under <data-dir>/run/<id>/
  std::string socket = "/var/run/docker.sock";  // env DOCKER_HOST=unix://... overrides
  std::string workspace_image = "playground-workspace:latest";
  std::string runner_image = "playground-runner:latest";
};

// Fills unset fields from the environment (DOCKER_HOST, PLAYGROUND_DOCKER_*),
// checks the engine answers, and returns the orchestrator.
Result<std::unique_ptr<Orchestrator>> MakeDockerOrchestrator(DockerConfig config);

}  // namespace pg::orchestrator
