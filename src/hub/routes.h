// The in-memory route table: playground id → backends of its running
// containers. Rebuilt from the registry and the orchestrator at start;
// lookups are one hash probe, whatever the number of playgrounds.
// Thread-safe (shared mutex: many readers, rare writers).
//
// A route exists only while its playground's row does (the lifecycle adds
// it once the playground runs and removes it before stopping or deleting),
// so a route that also knows the playground's owner answers who may reach
// it without a registry read on every proxied request.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "orchestrator/orchestrator.h"

namespace pg::hub {

struct Route {
  orchestrator::Backends backends;
  std::optional<std::string> owner;  // the owning user ("" = none), once recorded
};

class RouteTable {
 public:
  // Adds or replaces the route of `id` (forgetting its owner).
  void Set(const std::string& id, const orchestrator::Backends& b);
  void Remove(const std::string& id);
  // The route of `id`, or null. Routes are immutable once published (Set
  // and SetOwner replace them), so a lookup copies one pointer, not the
  // backends' strings.
  std::shared_ptr<const Route> Find(const std::string& id) const;
  // Records the owner on the route of `id`; nothing when there is none.
  void SetOwner(const std::string& id, const std::string& owner);
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Route>> routes_;
};

}  // namespace pg::hub
