// The ecs orchestrator: each playground is an ECS task on Fargate (workspace
// container on port 3000, runner on 8080) with its storage on EFS, reached
// through the hub (routing mode "hub") or per-playground ALB rules
// ("alb-rules"). See docs/aws.md.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aws/client.h"
#include "aws/credentials.h"
#include "orchestrator/orchestrator.h"

namespace pg::orchestrator {

struct EcsConfig {
  std::string region;
  std::string cluster = "playground";
  std::vector<std::string> subnets;           // awsvpc subnets of the tasks (and mount targets)
  std::vector<std::string> security_groups;   // of the tasks
  std::vector<std::string> efs_security_groups;  // of per-playground mount targets (file-system mode)
  bool assign_public_ip = false;
  std::string storage_mode = "access-point";  // access-point | file-system
  std::string file_system_id;                 // the shared file system (access-point mode)
  std::string routing_mode = "hub";           // hub | alb-rules
  std::string listener_arn;                   // alb-rules
  std::string vpc_id;                         // alb-rules (target groups)
  std::string domain;                         // alb-rules: host <id>.<domain>; empty: path /p/<id>/*
  std::string workspace_image;
  std::string runner_image;
  std::string execution_role_arn;
  std::string task_role_arn;
  std::string log_group;                      // awslogs group; empty: no logging
  std::string prefix = "pg";                  // names: <prefix>-<id>
  uint16_t workspace_port = 3000;
  uint16_t runner_port = 8080;
  std::chrono::milliseconds poll_initial{1000};  // lifecycle polling backoff
  std::chrono::milliseconds poll_max{5000};
  std::chrono::milliseconds destroy_timeout{600000};
  aws::ClientConfig client;                   // endpoints, retry, timeouts (region copied in)
};

// Reads `<data_dir>/ecs.json` (keys as in EcsConfig, lists as JSON arrays,
// durations as *_ms integers, "endpoints": {"ecs"|"efs"|"elbv2": url}), then
// the environment: PLAYGROUND_ECS_<KEY> (upper case, lists comma-separated),
// PLAYGROUND_AWS_ENDPOINT, PLAYGROUND_AWS_ENDPOINT_{ECS,EFS,ELBV2}, and the
// region from AWS_REGION / AWS_DEFAULT_REGION / the profile. Validates.
Result<EcsConfig> LoadEcsConfig(const std::string& data_dir, const aws::EnvFn& env = aws::ProcessEnv());

// Reads its settings (cluster, subnets, security groups, file system, modes,
// region, endpoint overrides) from the environment (PLAYGROUND_ECS_*,
// AWS_*) and <data-dir>/ecs.json, and returns the orchestrator.
Result<std::unique_ptr<Orchestrator>> MakeEcsOrchestrator(const std::string& data_dir);

// The same with an explicit configuration and credentials (tests, tools).
Result<std::unique_ptr<Orchestrator>> MakeEcsOrchestrator(EcsConfig config,
                                                          std::shared_ptr<aws::CredentialsProvider> creds);

}  // namespace pg::orchestrator
