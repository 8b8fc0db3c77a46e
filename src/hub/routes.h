// The in-memory route table: playground id → backends of its running
// containers. Rebuilt from the registry and the orchestrator at start;
// lookups are one hash probe, whatever the number of playgrounds.
// Thread-safe (shared mutex: many readers, rare writers).
#pragma once

#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "orchestrator/orchestrator.h"

namespace pg::hub {

class RouteTable {
 public:
  void Set(const std::string& id, const orchestrator::Backends& b);
  void Remove(const std::string& id);
  std::optional<orchestrator::Backends> Find(const std::string& id) const;
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, orchestrator::Backends> routes_;
};

}  // namespace pg::hub
