// A stateful fake of the parts of ECS, EFS and ELBv2 the ecs orchestrator
// uses, on 127.0.0.1:<port 0>, for contract tests. Every request is checked:
// its SigV4 signature (recomputed with the known test credentials), its
// protocol (X-Amz-Target, content types, Action/Version) and its input
// against AWS's models (ModelValidator). Violations are recorded and
// answered with a ValidationException.
//
// The fake keeps resource state and enforces documented rules:
// FileSystemInUse while mount targets exist, MountTargetConflict per subnet,
// idempotency tokens (RunTask clientToken, CreateAccessPoint ClientToken,
// CreateFileSystem CreationToken), PriorityInUse, 100 rules per listener,
// ResourceInUse for a target group a rule forwards to, and lifecycle states
// that take several polls (creating → available, PROVISIONING → PENDING →
// RUNNING, deleting → gone). A task whose storage is missing stops with
// ResourceInitializationError. Faults (throttling, 5xx, timeouts) are
// injected at random with a fixed seed; a timed-out request still takes
// effect (the answer is what is lost), as on the real network.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aws/sigv4.h"

namespace pg::aws::testing {

struct FakeAwsOptions {
  std::string region = "us-east-1";
  Credentials credentials{"AKIDFAKE", "fake-secret", ""};
  int polls_per_state = 2;      // Describe calls before a state advances
  int page_size = 3;            // list pagination (exercises markers)
  std::string task_ip = "127.0.0.1";
  int max_rules = 100;          // per listener, the default rule excluded
};

struct Faults {
  double throttle = 0;  // probability per request
  double server_error = 0;
  double timeout = 0;
  std::chrono::milliseconds timeout_delay{400};
  unsigned seed = 1;
};

class FakeAws {
 public:
  explicit FakeAws(FakeAwsOptions options = {});
  ~FakeAws();
  FakeAws(const FakeAws&) = delete;
  FakeAws& operator=(const FakeAws&) = delete;

  // "http://127.0.0.1:PORT"
  std::string url() const;

  // Shared infrastructure the deployment template would have made.
  std::string shared_file_system_id() const;
  std::string listener_arn() const;
  std::string vpc_id() const { return "vpc-0a1b2c3d4e5f60718"; }
  std::vector<std::string> subnets() const { return {"subnet-0a1b2c3d", "subnet-1a2b3c4d"}; }
  std::string security_group() const { return "sg-0a1b2c3d4e5f6071"; }

  void SetFaults(Faults f);
  // Fills the listener with `n` foreign rules (priorities 1..n).
  void AddForeignRules(int n);

  // Every live resource (not counting the shared file system, the listener
  // and foreign rules), one line each: "efs access point fsap-... (id)".
  std::vector<std::string> Leaks() const;
  // Requests that broke the model or protocol, one message each.
  std::vector<std::string> Violations() const;
  // Operation names seen, in order (after fault injection decisions).
  std::vector<std::string> Operations() const;
  int64_t requests() const { return requests_.load(); }
  int64_t faults_injected() const { return faults_.load(); }

  struct State;

 private:
  FakeAwsOptions options_;
  std::unique_ptr<State> state_;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> faults_{0};
  std::thread thread_;
};

}  // namespace pg::aws::testing
