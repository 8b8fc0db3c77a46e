#include "hub/routes.h"

#include <mutex>

namespace pg::hub {

void RouteTable::Set(const std::string& id, const orchestrator::Backends& b) {
  std::unique_lock lock(mu_);
  auto route = std::make_shared<const Route>(Route{b, std::nullopt});
  routes_[id] = std::move(route);
}

void RouteTable::Remove(const std::string& id) {
  std::unique_lock lock(mu_);
  routes_.erase(id);
}

std::shared_ptr<const Route> RouteTable::Find(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end()) return nullptr;
  return it->second;
}

void RouteTable::SetOwner(const std::string& id, const std::string& owner) {
  std::unique_lock lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end()) return;
  auto route = std::make_shared<Route>(*it->second);
  route->owner = owner;
  it->second = std::move(route);
}

size_t RouteTable::size() const {
  std::shared_lock lock(mu_);
  return routes_.size();
}

}  // namespace pg::hub
