#include "hub/lifecycle.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <future>
#include <set>
#include <thread>

#include "common/crypto.h"

namespace pg::hub {

namespace json = boost::json;
using registry::Playground;

std::string LimitsToJson(const orchestrator::Limits& l) {
  json::object o{{"memory_mb", l.memory_mb}, {"cpu_millis", l.cpu_millis}, {"pids", l.pids}, {"disk_mb", l.disk_mb}};
  return json::serialize(o);
}

orchestrator::Limits LimitsFromJson(const std::string& s) {
  orchestrator::Limits l;
  boost::system::error_code ec;
  auto v = json::parse(s, ec);
  if (ec || !v.is_object()) return l;
  auto get = [&](const char* k, int64_t& out) {
    auto it = v.as_object().find(k);
    if (it != v.as_object().end() && it->value().is_int64()) out = it->value().as_int64();
  };
  get("memory_mb", l.memory_mb);
  get("cpu_millis", l.cpu_millis);
  get("pids", l.pids);
  get("disk_mb", l.disk_mb);
  return l;
}

Lifecycle::Lifecycle(registry::Registry* reg, orchestrator::Orchestrator* orch, RouteTable* routes,
                     std::chrono::milliseconds ready_timeout)
    : reg_(reg), orch_(orch), routes_(routes), ready_timeout_(ready_timeout) {}

std::shared_ptr<std::mutex> Lifecycle::LockFor(const std::string& id) {
  std::lock_guard lock(locks_mu_);
  auto& w = locks_[id];
  auto m = w.lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    w = m;
  }
  if (locks_.size() > 1024) {
    for (auto it = locks_.begin(); it != locks_.end();) it = it->second.expired() ? locks_.erase(it) : std::next(it);
  }
  return m;
}

orchestrator::PlaygroundSpec Lifecycle::SpecOf(const Playground& p) const {
  orchestrator::PlaygroundSpec s;
  s.id = p.id;
  s.template_name = p.template_name;
  s.limits = LimitsFromJson(p.limits_json);
  s.resources = p.resources;
  return s;
}

orchestrator::RecordFn Lifecycle::Recorder(const std::string& id) {
  return [this, id](const std::string& key, const std::string& value) {
    auto r = reg_->SetResource(id, key, value);
    if (!r.ok()) spdlog::error("cannot record resource {}={} of {}: {}", key, value, id, r.error().message);
  };
}

Result<Playground> Lifecycle::Reload(const std::string& id) {
  PG_ASSIGN_OR_RETURN(auto row, reg_->Get(id));
  if (!row) return Error::NotFound("no such playground");
  return *row;
}

Result<Created> Lifecycle::Register(const CreateParams& params) {
  Created c;
  Playground& p = c.playground;
  p.id = orch_->TakeWarmSlot(params.limits);
  if (p.id.empty()) p.id = NewPlaygroundId();
  p.name = params.name.empty() ? params.template_name + "-" + p.id.substr(0, 6) : params.name;
  p.template_name = params.template_name;
  p.status = registry::kCreating;
  p.owner = params.owner;
  p.limits_json = LimitsToJson(params.limits);
  p.orchestrator = orch_->Name();
  p.created_at_ms = p.updated_at_ms = p.last_used_at_ms = registry::NowMs();
  c.token = "pgt_" + RandomToken(32);
  registry::Token t;
  t.hash = Sha256Hex(c.token);
  t.playground_id = p.id;
  t.role = "owner";
  t.label = "owner";
  t.created_at_ms = p.created_at_ms;
  PG_RETURN_IF_ERROR(reg_->Create(p, t));
  return c;
}

Result<Playground> Lifecycle::Provision(const std::string& id) {
  auto lock = LockFor(id);
  std::lock_guard guard(*lock);
  PG_ASSIGN_OR_RETURN(Playground p, Reload(id));
  if (p.status != registry::kCreating) return p;
  auto spec = SpecOf(p);
  auto record = Recorder(id);
  Result<orchestrator::Backends> backends = Error::Internal("not started");
  auto vol = orch_->CreateVolume(spec, record);
  if (vol.ok()) {
    PG_ASSIGN_OR_RETURN(p, Reload(id));  // resources recorded so far
    spec = SpecOf(p);
    backends = orch_->Start(spec, record, orchestrator::Clock::now() + ready_timeout_);
  } else {
    backends = vol.error();
  }
  if (!backends.ok()) {
    std::string reason = backends.error().message;
    spdlog::warn("playground {} failed to start: {}", id, reason);
    (void)orch_->Destroy(spec);
    PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kFailed, reason));
    return Reload(id);
  }
  PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kRunning));
  routes_->Set(id, *backends);
  return Reload(id);
}

Result<Playground> Lifecycle::Stop(const std::string& id) {
  auto lock = LockFor(id);
  std::lock_guard guard(*lock);
  PG_ASSIGN_OR_RETURN(Playground p, Reload(id));
  if (p.status == registry::kStopped) return p;
  if (p.status != registry::kRunning && p.status != registry::kFailed)
    return Error::Make("conflict", "playground is " + p.status, 409);
  routes_->Remove(id);
  PG_RETURN_IF_ERROR(orch_->Stop(SpecOf(p)));
  PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kStopped));
  return Reload(id);
}

Result<Playground> Lifecycle::Start(const std::string& id) {
  auto lock = LockFor(id);
  std::lock_guard guard(*lock);
  PG_ASSIGN_OR_RETURN(Playground p, Reload(id));
  if (p.status == registry::kRunning && routes_->Find(id)) return p;
  if (p.status != registry::kStopped && p.status != registry::kRunning && p.status != registry::kFailed)
    return Error::Make("conflict", "playground is " + p.status, 409);
  auto spec = SpecOf(p);
  auto record = Recorder(id);
  auto vol = orch_->CreateVolume(spec, record);  // idempotent; recreates a missing volume of a failed create
  if (!vol.ok()) return vol.error();
  PG_ASSIGN_OR_RETURN(p, Reload(id));
  auto backends = orch_->Start(SpecOf(p), record, orchestrator::Clock::now() + ready_timeout_);
  if (!backends.ok()) {
    (void)orch_->Stop(SpecOf(p));
    PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kStopped, backends.error().message));
    return Error::Make("start_failed", backends.error().message, 503);
  }
  PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kRunning));
  routes_->Set(id, *backends);
  return Reload(id);
}

Result<void> Lifecycle::Delete(const std::string& id) {
  auto lock = LockFor(id);
  std::lock_guard guard(*lock);
  PG_ASSIGN_OR_RETURN(Playground p, Reload(id));
  PG_RETURN_IF_ERROR(reg_->SetStatus(id, registry::kDeleting));
  routes_->Remove(id);
  auto r = orch_->Destroy(SpecOf(p));
  if (!r.ok()) {
    spdlog::error("deleting {}: {}", id, r.error().message);
    return Error::Make("delete_failed", r.error().message, 500);
  }
  return reg_->Delete(id);
}

void Lifecycle::Reconcile() {
  auto rows = reg_->ListAll();
  if (!rows.ok()) {
    spdlog::error("reconcile: cannot list registry: {}", rows.error().message);
    return;
  }
  std::set<std::string> known;
  for (const auto& p : *rows) known.insert(p.id);

  // Orphans first: anything the orchestrator holds that no row owns.
  auto owned = orch_->ListOwned();
  if (owned.ok()) {
    for (const auto& id : *owned) {
      if (known.count(id)) continue;
      spdlog::info("reconcile: removing orphan {}", id);
      auto r = orch_->DestroyOrphan(id);
      if (!r.ok()) spdlog::warn("reconcile: orphan {}: {}", id, r.error().message);
    }
  }

  // Then each row, a few at a time.
  std::vector<std::future<void>> jobs;
  const size_t kParallel = 8;
  for (const auto& p : *rows) {
    if (jobs.size() >= kParallel) {
      jobs.front().get();
      jobs.erase(jobs.begin());
    }
    jobs.push_back(std::async(std::launch::async, [this, p] {
      if (p.status == registry::kDeleting) {
        spdlog::info("reconcile: finishing delete of {}", p.id);
        (void)Delete(p.id);
      } else if (p.status == registry::kCreating) {
        spdlog::info("reconcile: finishing create of {}", p.id);
        (void)Provision(p.id);
      } else if (p.status == registry::kRunning) {
        auto lock = LockFor(p.id);
        std::lock_guard guard(*lock);
        auto b = orch_->Adopt(SpecOf(p), orchestrator::Clock::now() + ready_timeout_);
        if (b.ok()) {
          routes_->Set(p.id, *b);
        } else {
          spdlog::warn("reconcile: cannot adopt {}: {}", p.id, b.error().message);
          (void)reg_->SetStatus(p.id, registry::kFailed, "lost after hub restart: " + b.error().message);
        }
      } else if (p.status == registry::kStopped) {
        (void)orch_->Stop(SpecOf(p));  // nothing of a stopped playground may run
      }
    }));
  }
  for (auto& j : jobs) j.get();
}

}  // namespace pg::hub
