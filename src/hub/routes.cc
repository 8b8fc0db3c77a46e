#include "hub/routes.h"

#include <mutex>

namespace pg::hub {

void RouteTable::Set(const std::string& id, const orchestrator::Backends& b) {
  std::unique_lock lock(mu_);
  routes_[id] = Route{b, std::nullopt};
}

void RouteTable::Remove(const std::string& id) {
  std::unique_lock lock(mu_);
  routes_.erase(id);
}

std::optional<orchestrator::Backends> RouteTable::Find(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end()) return std::nullopt;
  return it->second.backends;
}

std::optional<Route> RouteTable::Lookup(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

void RouteTable::SetOwner(const std::string& id, const std::string& owner) {
  std::unique_lock lock(mu_);
  auto it = routes_.find(id);
  if (it != routes_.end()) it->second.owner = owner;
}

size_t RouteTable::size() const {
  std::shared_lock lock(mu_);
  return routes_.size();
}

}  // namespace pg::hub
