// The playground lifecycle: creating → running ⇄ stopped → deleting →
// (row removed), or failed. Each state is written to the registry before the
// action it announces is acknowledged; Reconcile() finishes whatever a killed
// hub left half done. All methods block (orchestrator calls): call them off
// the event loop. Operations on one id are serialized.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hub/routes.h"
#include "orchestrator/orchestrator.h"
#include "registry/registry.h"

namespace pg::hub {

struct CreateParams {
  std::string name;
  std::string template_name = "python";
  orchestrator::Limits limits;
  std::string owner;  // user id; "" for the admin
};

struct Created {
  registry::Playground playground;
  std::string token;  // the playground's owner token, shown once
};

class Lifecycle {
 public:
  // All pointers must outlive the Lifecycle.
  Lifecycle(registry::Registry* reg, orchestrator::Orchestrator* orch, RouteTable* routes,
            std::chrono::milliseconds ready_timeout);

  // Writes the row (status creating) and the owner token. Fast.
  Result<Created> Register(const CreateParams& params);
  // Provisions a registered playground: volume, containers, readiness; then
  // status running (or failed with the reason, having removed what it made).
  Result<registry::Playground> Provision(const std::string& id);
  Result<registry::Playground> Stop(const std::string& id);
  Result<registry::Playground> Start(const std::string& id);
  // Marks deleting, removes everything, then the row. 404 when unknown.
  Result<void> Delete(const std::string& id);

  // Start-up reconciliation of registry and reality (see docs/architecture.md).
  void Reconcile();

  orchestrator::Orchestrator* orchestrator() const { return orch_; }

 private:
  std::shared_ptr<std::mutex> LockFor(const std::string& id);
  orchestrator::PlaygroundSpec SpecOf(const registry::Playground& p) const;
  orchestrator::RecordFn Recorder(const std::string& id);
  Result<registry::Playground> Reload(const std::string& id);

  registry::Registry* reg_;
  orchestrator::Orchestrator* orch_;
  RouteTable* routes_;
  std::chrono::milliseconds ready_timeout_;
  std::mutex locks_mu_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;
};

// Limits as stored in the registry (JSON) and back.
std::string LimitsToJson(const orchestrator::Limits& l);
orchestrator::Limits LimitsFromJson(const std::string& s);

}  // namespace pg::hub
