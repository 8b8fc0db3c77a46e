// The ecs orchestrator: each playground is an ECS task on Fargate (workspace
// container on port 3000, runner on 8080) with its storage on EFS, reached
// through the hub (routing mode "hub") or per-playground ALB rules
// ("alb-rules"). See docs/aws.md.
#pragma once

#include <memory>
#include <string>

#include "orchestrator/orchestrator.h"

namespace pg::orchestrator {

// Reads its settings (cluster, subnets, security groups, file system, modes,
// region, endpoint overrides) from the environment (PLAYGROUND_ECS_*,
// AWS_*) and <data-dir>/ecs.json, and returns the orchestrator.
Result<std::unique_ptr<Orchestrator>> MakeEcsOrchestrator(const std::string& data_dir);

}  // namespace pg::orchestrator
