#include "orchestrator/ecs/ecs_orchestrator.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/crypto.h"
#include "common/json.h"
#include "orchestrator/templates.h"

namespace pg::orchestrator {
namespace {

namespace js = boost::json;
using aws::Client;
using aws::XmlNode;
using Params = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kTagKey = "playground-id";

// Resource keys recorded through RecordFn.
constexpr const char* kAccessPoint = "efs.access_point";
constexpr const char* kFileSystem = "efs.file_system";
constexpr const char* kTaskDefinition = "ecs.task_definition";
constexpr const char* kTask = "ecs.task";
constexpr const char* kTargetGroup = "elb.target_group";
constexpr const char* kRule = "elb.rule";

bool Gone(const Error& e) {
  static const char* kCodes[] = {"AccessPointNotFound", "FileSystemNotFound", "MountTargetNotFound",
                                 "TargetGroupNotFound", "RuleNotFound", "InvalidTarget"};
  for (const char* c : kCodes)
    if (e.code == c) return true;
  return false;
}

std::string Str(const js::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}
const js::array* Arr(const js::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().as_array() : nullptr;
}

std::string TagOf(const js::object& o, const char* list_key, const char* k_name, const char* v_name) {
  if (const js::array* tags = Arr(o, list_key)) {
    for (const auto& t : *tags) {
      if (t.is_object() && Str(t.as_object(), k_name) == kTagKey) return Str(t.as_object(), v_name);
    }
  }
  return "";
}

// Waits between polls: starts at `initial`, grows by half up to `max`,
// never sleeps past `deadline`.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, Clock::time_point deadline)
      : delay_(initial), max_(max), deadline_(deadline) {}
  // False when the deadline has passed.
  bool Wait() {
    auto now = Clock::now();
    if (now >= deadline_) return false;
    auto d = std::min<Clock::duration>(delay_, deadline_ - now);
    std::this_thread::sleep_for(d);
    delay_ = std::min(max_, delay_ + delay_ / 2 + std::chrono::milliseconds(1));
    return true;
  }

 private:
  std::chrono::milliseconds delay_, max_;
  Clock::time_point deadline_;
};

// Single-quotes `s` for sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

// The seed container's script: writes the template once, marks it done.
std::string SeedScript(const std::string& template_name) {
  std::string script = "set -e; cd /workspace; if [ -e .playground-seeded ]; then exit 0; fi; ";
  if (const TemplateFiles* files = FindTemplate(template_name)) {
    for (const auto& [path, content] : *files) {
      std::string dir = path.find('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
      if (!dir.empty()) script += "mkdir -p " + ShellQuote(dir) + "; ";
      script += "printf '%s' " + ShellQuote(content) + " > " + ShellQuote(path) + "; ";
    }
  }
  script += ": > .playground-seeded";
  return script;
}

// Fargate task size for two containers of `limits` each.
std::pair<int, int> FargateSize(const Limits& l) {
  static const int kCpus[] = {256, 512, 1024, 2048, 4096, 8192, 16384};
  auto max_mem = [](int cpu) { return cpu == 256 ? 2048 : cpu == 512 ? 4096 : cpu * 8 > 122880 ? 122880 : cpu * 8 - (cpu >= 4096 ? 2048 : 0); };
  auto min_mem = [](int cpu) { return cpu == 256 ? 512 : cpu * 2; };
  int want_cpu = static_cast<int>(2 * l.cpu_millis * 1024 / 1000);
  int want_mem = static_cast<int>((2 * l.memory_mb + 1023) / 1024 * 1024);
  for (int cpu : kCpus) {
    if (cpu < want_cpu) continue;
    if (want_mem > max_mem(cpu)) continue;
    return {cpu, std::max(want_mem, min_mem(cpu))};
  }
  return {16384, 122880};
}

uint32_t PosixId(const std::string& id) {
  // A per-playground uid/gid in [100000, 2000000000).
  std::string h = Sha256(id);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(h[i]);
  return 100000 + v % 1999900000u;
}

class EcsOrchestrator : public Orchestrator {
 public:
  EcsOrchestrator(EcsConfig c, std::shared_ptr<aws::CredentialsProvider> creds)
      : cfg_(std::move(c)), client_([this] {
          auto cc = cfg_.client;
          cc.region = cfg_.region;
          return cc;
        }(), std::move(creds)) {}

  std::string Name() const override { return "ecs"; }

  Result<void> CreateVolume(const PlaygroundSpec& spec, const RecordFn& record) override {
    RecordFn rec = Recorder(spec.id, record);
    auto deadline = Clock::now() + cfg_.destroy_timeout;
    Result<void> r = cfg_.storage_mode == "file-system" ? CreateFileSystem(spec, rec, deadline)
                                                         : CreateAccessPoint(spec, rec, deadline);
    if (!r.ok()) {
      // Roll back what this call made; an error here is secondary.
      auto known = Known(spec);
      (void)DeleteStorage(spec.id, known, Clock::now() + cfg_.destroy_timeout);
      Forget(spec.id, {kAccessPoint, kFileSystem});
    }
    return r;
  }

  Result<Backends> Start(const PlaygroundSpec& spec, const RecordFn& record, Clock::time_point deadline) override {
    RecordFn rec = Recorder(spec.id, record);
    auto r = StartTask(spec, rec, deadline);
    if (!r.ok()) {
      auto known = Known(spec);
      (void)StopAll(spec.id, known, Clock::now() + cfg_.destroy_timeout);
    }
    return r;
  }

  Result<void> Stop(const PlaygroundSpec& spec) override {
    return StopAll(spec.id, Known(spec), Clock::now() + cfg_.destroy_timeout);
  }

  Result<void> Destroy(const PlaygroundSpec& spec) override {
    auto deadline = Clock::now() + cfg_.destroy_timeout;
    auto known = Known(spec);
    PG_RETURN_IF_ERROR(StopAll(spec.id, known, deadline));
    PG_RETURN_IF_ERROR(DeregisterTaskDefinitions(spec.id, known));
    PG_RETURN_IF_ERROR(DeleteStorage(spec.id, known, deadline));
    std::lock_guard lock(mu_);
    memory_.erase(spec.id);
    return Ok();
  }

  Result<Backends> Adopt(const PlaygroundSpec& spec, Clock::time_point deadline) override {
    auto known = Known(spec);
    PG_ASSIGN_OR_RETURN(auto tasks, TasksOf(spec.id, known));
    for (const auto& arn : tasks) {
      PG_ASSIGN_OR_RETURN(auto t, DescribeTask(arn));
      if (!t || Str(*t, "lastStatus") == "STOPPED" || Str(*t, "desiredStatus") == "STOPPED") continue;
      auto ready = WaitRunning(arn, deadline);
      if (!ready.ok()) continue;
      Backends b = MakeBackends(*ready);
      PG_RETURN_IF_ERROR(WaitReady(b, deadline));
      if (cfg_.routing_mode == "alb-rules") PG_RETURN_IF_ERROR(Route(spec.id, *ready, [](auto&, auto&) {}, deadline));
      return b;
    }
    // Not running: start it again on its storage.
    return Start(spec, [](const std::string&, const std::string&) {}, deadline);
  }

  Result<std::vector<std::string>> ListOwned() override {
    std::set<std::string> ids;
    // ECS tasks (tags) and task definitions (family names).
    PG_ASSIGN_OR_RETURN(auto tasks, ListTasks(""));
    for (size_t i = 0; i < tasks.size(); i += 100) {
      js::array batch;
      for (size_t j = i; j < std::min(tasks.size(), i + 100); ++j) batch.push_back(js::string(tasks[j]));
      PG_ASSIGN_OR_RETURN(auto out, client_.CallJson(aws::kEcs, "DescribeTasks",
                                                      {{"cluster", cfg_.cluster}, {"tasks", batch}, {"include", {"TAGS"}}}));
      if (const js::array* ts = Arr(out, "tasks")) {
        for (const auto& t : *ts) {
          if (!t.is_object()) continue;
          std::string id = TagOf(t.as_object(), "tags", "key", "value");
          if (!id.empty()) ids.insert(id);
        }
      }
    }
    PG_ASSIGN_OR_RETURN(auto defs, ListTaskDefinitions(cfg_.prefix + "-"));
    for (const auto& arn : defs) {
      std::string fam = FamilyOf(arn);
      if (fam.rfind(cfg_.prefix + "-", 0) == 0) ids.insert(fam.substr(cfg_.prefix.size() + 1));
    }
    // EFS.
    if (!cfg_.file_system_id.empty()) {
      PG_ASSIGN_OR_RETURN(auto aps, DescribeAccessPoints());
      for (const auto& ap : aps) {
        std::string id = TagOf(ap, "Tags", "Key", "Value");
        if (!id.empty()) ids.insert(id);
      }
    }
    PG_ASSIGN_OR_RETURN(auto fss, DescribeFileSystems(""));
    for (const auto& fs : fss) {
      std::string id = TagOf(fs, "Tags", "Key", "Value");
      if (!id.empty()) ids.insert(id);
    }
    // ELBv2.
    if (!cfg_.listener_arn.empty()) {
      PG_ASSIGN_OR_RETURN(auto rules, DescribeRules());
      for (const auto& r : rules) {
        if (!r.id.empty()) ids.insert(r.id);
      }
      PG_ASSIGN_OR_RETURN(auto tgs, DescribeTargetGroups({}));
      for (const auto& [name, arn] : tgs) {
        if (name.rfind(cfg_.prefix + "-", 0) == 0) ids.insert(name.substr(cfg_.prefix.size() + 1));
      }
    }
    return std::vector<std::string>(ids.begin(), ids.end());
  }

  Result<void> DestroyOrphan(const std::string& id) override {
    PlaygroundSpec spec;
    spec.id = id;
    return Destroy(spec);
  }

  Health Status(const std::string& id) override {
    Health h;
    PlaygroundSpec spec;
    spec.id = id;
    auto tasks = TasksOf(id, Known(spec));
    if (!tasks.ok()) {
      h.detail = tasks.error().message;
      return h;
    }
    for (const auto& arn : *tasks) {
      auto t = DescribeTask(arn);
      if (!t.ok() || !*t) continue;
      h.detail = "task " + Str(**t, "lastStatus");
      if (const js::array* cs = Arr(**t, "containers")) {
        for (const auto& c : *cs) {
          if (!c.is_object()) continue;
          bool up = Str(c.as_object(), "lastStatus") == "RUNNING";
          if (Str(c.as_object(), "name") == "workspace") h.workspace_up = up;
          if (Str(c.as_object(), "name") == "runner") h.runner_up = up;
        }
      }
      if (Str(**t, "lastStatus") == "RUNNING") break;
    }
    return h;
  }

 private:
  struct Rule {
    std::string arn;
    std::string priority;
    std::string id;  // playground id from its condition; "" when not ours
  };

  // ---- resource memory -------------------------------------------------
  RecordFn Recorder(const std::string& id, const RecordFn& outer) {
    return [this, id, outer](const std::string& k, const std::string& v) {
      outer(k, v);
      std::lock_guard lock(mu_);
      memory_[id][k] = v;
    };
  }
  std::map<std::string, std::string> Known(const PlaygroundSpec& spec) {
    std::map<std::string, std::string> out = spec.resources;
    std::lock_guard lock(mu_);
    if (auto it = memory_.find(spec.id); it != memory_.end()) {
      for (const auto& [k, v] : it->second) out[k] = v;
    }
    return out;
  }
  void Forget(const std::string& id, std::initializer_list<const char*> keys) {
    std::lock_guard lock(mu_);
    for (const char* k : keys) memory_[id].erase(k);
  }
  static std::string Get(const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? "" : it->second;
  }
  std::string Name(const std::string& id) const { return cfg_.prefix + "-" + id; }
  Backoff Poll(Clock::time_point deadline) const { return Backoff(cfg_.poll_initial, cfg_.poll_max, deadline); }
  static std::string FamilyOf(const std::string& td_arn) {
    size_t slash = td_arn.rfind('/');
    std::string s = slash == std::string::npos ? td_arn : td_arn.substr(slash + 1);
    return s.substr(0, s.rfind(':'));
  }

  // ---- EFS ---------------------------------------------------------------
  js::array EfsTags(const std::string& id) const {
    return {js::object{{"Key", kTagKey}, {"Value", id}}, js::object{{"Key", "Name"}, {"Value", Name(id)}}};
  }

  Result<void> CreateAccessPoint(const PlaygroundSpec& spec, const RecordFn& rec, Clock::time_point deadline) {
    if (cfg_.file_system_id.empty())
      return Error::Make("ecs_config", "storage mode access-point needs file_system_id", 500);
    int64_t uid = PosixId(spec.id);
    js::object req{
        {"ClientToken", Name(spec.id)},
        {"FileSystemId", cfg_.file_system_id},
        {"PosixUser", {{"Uid", uid}, {"Gid", uid}}},
        {"RootDirectory",
         {{"Path", "/playgrounds/" + spec.id},
          {"CreationInfo", {{"OwnerUid", uid}, {"OwnerGid", uid}, {"Permissions", "0700"}}}}},
        {"Tags", EfsTags(spec.id)}};
    PG_ASSIGN_OR_RETURN(auto ap, client_.CallRest(aws::kEfs, "POST", "/2015-02-01/access-points", {}, &req));
    std::string ap_id = Str(ap, "AccessPointId");
    if (ap_id.empty()) return Error::Make("malformed_response", "CreateAccessPoint returned no AccessPointId", 502);
    rec(kAccessPoint, ap_id);
    auto poll = Poll(deadline);
    for (;;) {
      auto d = client_.CallRest(aws::kEfs, "GET", "/2015-02-01/access-points", {{"AccessPointId", ap_id}}, nullptr);
      if (!d.ok() && !Gone(d.error())) return d.error();
      std::string state;
      if (d.ok()) {
        if (const js::array* a = Arr(*d, "AccessPoints"); a && !a->empty() && (*a)[0].is_object())
          state = Str((*a)[0].as_object(), "LifeCycleState");
      }
      if (state == "available") return Ok();
      if (state == "error" || state == "deleting" || state == "deleted")
        return Error::Make("efs_error", "access point " + ap_id + " is " + state, 502);
      if (!poll.Wait()) return Error::Make("timeout", "access point " + ap_id + " not available in time", 504);
    }
  }

  Result<std::optional<js::object>> FileSystemByToken(const std::string& token) {
    PG_ASSIGN_OR_RETURN(auto fss, DescribeFileSystems(token));
    if (fss.empty()) return std::optional<js::object>();
    return std::optional<js::object>(fss[0]);
  }

  Result<void> CreateFileSystem(const PlaygroundSpec& spec, const RecordFn& rec, Clock::time_point deadline) {
    js::object req{{"CreationToken", Name(spec.id)},
                   {"PerformanceMode", "generalPurpose"},
                   {"Encrypted", true},
                   {"ThroughputMode", "elastic"},
                   {"Tags", EfsTags(spec.id)}};
    std::string fs_id;
    auto created = client_.CallRest(aws::kEfs, "POST", "/2015-02-01/file-systems", {}, &req);
    if (created.ok()) {
      fs_id = Str(*created, "FileSystemId");
    } else if (created.error().code == "FileSystemAlreadyExists") {
      PG_ASSIGN_OR_RETURN(auto fs, FileSystemByToken(Name(spec.id)));
      if (fs) fs_id = Str(*fs, "FileSystemId");
    } else {
      return created.error();
    }
    if (fs_id.empty()) return Error::Make("malformed_response", "CreateFileSystem returned no FileSystemId", 502);
    rec(kFileSystem, fs_id);
    auto poll = Poll(deadline);
    for (;;) {
      PG_ASSIGN_OR_RETURN(auto d, client_.CallRest(aws::kEfs, "GET", "/2015-02-01/file-systems",
                                                   {{"FileSystemId", fs_id}}, nullptr));
      std::string state;
      if (const js::array* a = Arr(d, "FileSystems"); a && !a->empty() && (*a)[0].is_object())
        state = Str((*a)[0].as_object(), "LifeCycleState");
      if (state == "available") break;
      if (state == "error" || state == "deleting" || state == "deleted")
        return Error::Make("efs_error", "file system " + fs_id + " is " + state, 502);
      if (!poll.Wait()) return Error::Make("timeout", "file system " + fs_id + " not available in time", 504);
    }
    // One mount target per subnet (the subnets are in distinct AZs).
    PG_ASSIGN_OR_RETURN(auto existing, MountTargets(fs_id));
    for (const auto& subnet : cfg_.subnets) {
      bool have = std::any_of(existing.begin(), existing.end(),
                              [&](const js::object& mt) { return Str(mt, "SubnetId") == subnet; });
      if (have) continue;
      js::object mreq{{"FileSystemId", fs_id}, {"SubnetId", subnet}};
      if (!cfg_.efs_security_groups.empty()) {
        js::array sgs;
        for (const auto& s : cfg_.efs_security_groups) sgs.push_back(js::string(s));
        mreq["SecurityGroups"] = sgs;
      }
      auto mt = client_.CallRest(aws::kEfs, "POST", "/2015-02-01/mount-targets", {}, &mreq);
      if (!mt.ok() && mt.error().code != "MountTargetConflict") return mt.error();
      if (mt.ok()) rec("efs.mount_target." + subnet, Str(*mt, "MountTargetId"));
    }
    for (;;) {
      PG_ASSIGN_OR_RETURN(auto mts, MountTargets(fs_id));
      bool all = !mts.empty();
      for (const auto& mt : mts) {
        std::string st = Str(mt, "LifeCycleState");
        if (st == "error") return Error::Make("efs_error", "mount target " + Str(mt, "MountTargetId") + " failed", 502);
        if (st != "available") all = false;
      }
      if (all) return Ok();
      if (!poll.Wait()) return Error::Make("timeout", "mount targets of " + fs_id + " not available in time", 504);
    }
  }

  Result<std::vector<js::object>> MountTargets(const std::string& fs_id) {
    std::vector<js::object> out;
    std::string marker;
    do {
      Params q{{"FileSystemId", fs_id}};
      if (!marker.empty()) q.emplace_back("Marker", marker);
      auto r = client_.CallRest(aws::kEfs, "GET", "/2015-02-01/mount-targets", q, nullptr);
      if (!r.ok()) {
        if (r.error().code == "FileSystemNotFound") return out;
        return r.error();
      }
      if (const js::array* a = Arr(*r, "MountTargets"))
        for (const auto& v : *a)
          if (v.is_object()) out.push_back(v.as_object());
      marker = Str(*r, "NextMarker");
    } while (!marker.empty());
    return out;
  }

  Result<std::vector<js::object>> DescribeAccessPoints() {
    std::vector<js::object> out;
    std::string token;
    do {
      Params q{{"FileSystemId", cfg_.file_system_id}};
      if (!token.empty()) q.emplace_back("NextToken", token);
      auto r = client_.CallRest(aws::kEfs, "GET", "/2015-02-01/access-points", q, nullptr);
      if (!r.ok()) {
        if (r.error().code == "FileSystemNotFound") return out;
        return r.error();
      }
      if (const js::array* a = Arr(*r, "AccessPoints"))
        for (const auto& v : *a)
          if (v.is_object()) out.push_back(v.as_object());
      token = Str(*r, "NextToken");
    } while (!token.empty());
    return out;
  }

  Result<std::vector<js::object>> DescribeFileSystems(const std::string& creation_token) {
    std::vector<js::object> out;
    std::string marker;
    do {
      Params q;
      if (!creation_token.empty()) q.emplace_back("CreationToken", creation_token);
      if (!marker.empty()) q.emplace_back("Marker", marker);
      PG_ASSIGN_OR_RETURN(auto r, client_.CallRest(aws::kEfs, "GET", "/2015-02-01/file-systems", q, nullptr));
      if (const js::array* a = Arr(r, "FileSystems"))
        for (const auto& v : *a)
          if (v.is_object()) out.push_back(v.as_object());
      marker = Str(r, "NextMarker");
    } while (!marker.empty());
    return out;
  }

  Result<void> DeleteStorage(const std::string& id, const std::map<std::string, std::string>& known,
                             Clock::time_point deadline) {
    // Access points: the recorded one and any tagged with the id.
    std::set<std::string> aps;
    if (auto ap = Get(known, kAccessPoint); !ap.empty()) aps.insert(ap);
    if (!cfg_.file_system_id.empty()) {
      PG_ASSIGN_OR_RETURN(auto all, DescribeAccessPoints());
      for (const auto& ap : all)
        if (TagOf(ap, "Tags", "Key", "Value") == id) aps.insert(Str(ap, "AccessPointId"));
    }
    for (const auto& ap : aps) {
      auto r = client_.CallRest(aws::kEfs, "DELETE", "/2015-02-01/access-points/" + aws::UriEncode(ap, false), {},
                                nullptr);
      if (!r.ok() && !Gone(r.error())) return r.error();
    }
    // File systems: mount targets first (and awaited), then the file system.
    std::set<std::string> fss;
    if (auto fs = Get(known, kFileSystem); !fs.empty()) fss.insert(fs);
    PG_ASSIGN_OR_RETURN(auto by_token, FileSystemByToken(Name(id)));
    if (by_token) fss.insert(Str(*by_token, "FileSystemId"));
    for (const auto& fs : fss) PG_RETURN_IF_ERROR(DeleteFileSystem(fs, deadline));
    return Ok();
  }

  Result<void> DeleteFileSystem(const std::string& fs, Clock::time_point deadline) {
    auto poll = Poll(deadline);
    for (;;) {
      PG_ASSIGN_OR_RETURN(auto mts, MountTargets(fs));
      if (mts.empty()) break;
      for (const auto& mt : mts) {
        if (Str(mt, "LifeCycleState") == "deleting") continue;
        auto r = client_.CallRest(aws::kEfs, "DELETE",
                                  "/2015-02-01/mount-targets/" + aws::UriEncode(Str(mt, "MountTargetId"), false), {},
                                  nullptr);
        if (!r.ok() && !Gone(r.error())) return r.error();
      }
      if (!poll.Wait()) return Error::Make("timeout", "mount targets of " + fs + " not deleted in time", 504);
    }
    for (;;) {
      auto r = client_.CallRest(aws::kEfs, "DELETE", "/2015-02-01/file-systems/" + aws::UriEncode(fs, false), {},
                                nullptr);
      if (r.ok() || Gone(r.error())) break;
      if (r.error().code != "FileSystemInUse") return r.error();
      if (!poll.Wait()) return Error::Make("timeout", "file system " + fs + " still in use", 504);
    }
    // Wait until it is really gone, so a caller can count on it.
    for (;;) {
      auto d = client_.CallRest(aws::kEfs, "GET", "/2015-02-01/file-systems", {{"FileSystemId", fs}}, nullptr);
      if (!d.ok()) {
        if (Gone(d.error())) return Ok();
        return d.error();
      }
      const js::array* a = Arr(*d, "FileSystems");
      if (!a || a->empty()) return Ok();
      if (!poll.Wait()) return Error::Make("timeout", "file system " + fs + " not deleted in time", 504);
    }
  }

  // ---- ECS ---------------------------------------------------------------
  js::array EcsTags(const std::string& id) const { return {js::object{{"key", kTagKey}, {"value", id}}}; }

  js::object Container(const std::string& name, const std::string& image, js::array command, int cpu,
                       int64_t memory) const {
    js::object c{{"name", name},
                 {"image", image},
                 {"essential", true},
                 {"command", std::move(command)},
                 {"cpu", cpu},
                 {"memory", memory},
                 {"mountPoints", js::array{js::object{{"sourceVolume", "workspace"}, {"containerPath", "/workspace"}}}}};
    if (!cfg_.log_group.empty()) {
      c["logConfiguration"] = js::object{
          {"logDriver", "awslogs"},
          {"options", {{"awslogs-group", cfg_.log_group}, {"awslogs-region", cfg_.region}, {"awslogs-stream-prefix", name}}}};
    }
    return c;
  }

  Result<std::string> RegisterTaskDefinition(const PlaygroundSpec& spec, const std::map<std::string, std::string>& known) {
    auto [cpu, mem] = FargateSize(spec.limits);
    js::object efs{{"fileSystemId", ""}, {"transitEncryption", "ENABLED"}};
    if (cfg_.storage_mode == "file-system") {
      std::string fs = Get(known, kFileSystem);
      if (fs.empty()) return Error::Make("no_volume", "playground " + spec.id + " has no file system", 409);
      efs["fileSystemId"] = fs;
      efs["rootDirectory"] = "/";
    } else {
      std::string ap = Get(known, kAccessPoint);
      if (ap.empty()) return Error::Make("no_volume", "playground " + spec.id + " has no access point", 409);
      efs["fileSystemId"] = cfg_.file_system_id;
      efs["authorizationConfig"] = js::object{{"accessPointId", ap}, {"iam", "ENABLED"}};
    }
    auto ws = Container("workspace", cfg_.workspace_image,
                        {"workspace-server", "--root", "/workspace", "--listen",
                         "tcp:0.0.0.0:" + std::to_string(cfg_.workspace_port)},
                        cpu / 2, spec.limits.memory_mb);
    ws["portMappings"] = js::array{js::object{{"containerPort", cfg_.workspace_port}, {"protocol", "tcp"}}};
    ws["dependsOn"] = js::array{js::object{{"containerName", "seed"}, {"condition", "SUCCESS"}}};
    auto run = Container("runner", cfg_.runner_image,
                         {"runner-server", "--root", "/workspace", "--listen",
                          "tcp:0.0.0.0:" + std::to_string(cfg_.runner_port), "--max-processes",
                          std::to_string(spec.limits.pids)},
                         cpu / 2, spec.limits.memory_mb);
    run["portMappings"] = js::array{js::object{{"containerPort", cfg_.runner_port}, {"protocol", "tcp"}}};
    run["dependsOn"] = js::array{js::object{{"containerName", "seed"}, {"condition", "SUCCESS"}}};
    auto seed = Container("seed", cfg_.workspace_image, {"sh", "-c", SeedScript(spec.template_name)}, 0, 128);
    seed["essential"] = false;
    seed["entryPoint"] = js::array{};
    seed.erase("cpu");
    js::object req{{"family", Name(spec.id)},
                   {"networkMode", "awsvpc"},
                   {"requiresCompatibilities", {"FARGATE"}},
                   {"cpu", std::to_string(cpu)},
                   {"memory", std::to_string(mem)},
                   {"containerDefinitions", js::array{seed, ws, run}},
                   {"volumes", js::array{js::object{{"name", "workspace"}, {"efsVolumeConfiguration", efs}}}},
                   {"tags", EcsTags(spec.id)}};
    if (!cfg_.execution_role_arn.empty()) req["executionRoleArn"] = cfg_.execution_role_arn;
    if (!cfg_.task_role_arn.empty()) req["taskRoleArn"] = cfg_.task_role_arn;
    PG_ASSIGN_OR_RETURN(auto out, client_.CallJson(aws::kEcs, "RegisterTaskDefinition", req));
    std::string arn;
    if (auto it = out.find("taskDefinition"); it != out.end() && it->value().is_object())
      arn = Str(it->value().as_object(), "taskDefinitionArn");
    if (arn.empty()) return Error::Make("malformed_response", "RegisterTaskDefinition returned no ARN", 502);
    return arn;
  }

  Result<std::optional<js::object>> DescribeTask(const std::string& arn) {
    PG_ASSIGN_OR_RETURN(auto out, client_.CallJson(aws::kEcs, "DescribeTasks",
                                                    {{"cluster", cfg_.cluster}, {"tasks", {arn}}}));
    if (const js::array* ts = Arr(out, "tasks"); ts && !ts->empty() && (*ts)[0].is_object())
      return std::optional<js::object>((*ts)[0].as_object());
    return std::optional<js::object>();
  }

  static std::string PrivateIp(const js::object& task) {
    if (const js::array* atts = Arr(task, "attachments")) {
      for (const auto& a : *atts) {
        if (!a.is_object()) continue;
        if (const js::array* det = Arr(a.as_object(), "details")) {
          for (const auto& d : *det)
            if (d.is_object() && Str(d.as_object(), "name") == "privateIPv4Address") return Str(d.as_object(), "value");
        }
      }
    }
    if (const js::array* cs = Arr(task, "containers")) {
      for (const auto& c : *cs) {
        if (!c.is_object()) continue;
        if (const js::array* nis = Arr(c.as_object(), "networkInterfaces"))
          for (const auto& n : *nis)
            if (n.is_object() && !Str(n.as_object(), "privateIpv4Address").empty())
              return Str(n.as_object(), "privateIpv4Address");
      }
    }
    return "";
  }

  // Polls until the task RUNS and has an address; returns that address.
  Result<std::string> WaitRunning(const std::string& arn, Clock::time_point deadline) {
    auto poll = Poll(deadline);
    for (;;) {
      PG_ASSIGN_OR_RETURN(auto t, DescribeTask(arn));
      if (!t) return Error::Make("task_gone", "task " + arn + " is gone", 502);
      std::string st = Str(*t, "lastStatus");
      if (st == "STOPPED" || st == "DEPROVISIONING" || st == "STOPPING")
        return Error::Make("task_stopped", "task stopped: " + Str(*t, "stoppedReason"), 502);
      if (st == "RUNNING") {
        std::string ip = PrivateIp(*t);
        if (!ip.empty()) return ip;
      }
      if (!poll.Wait()) return Error::Make("not_ready", "task " + arn + " not RUNNING in time (" + st + ")", 503);
    }
  }

  Backends MakeBackends(const std::string& ip) const {
    return Backends{Endpoint::Tcp(ip, cfg_.workspace_port), Endpoint::Tcp(ip, cfg_.runner_port)};
  }

  Result<Backends> StartTask(const PlaygroundSpec& spec, const RecordFn& rec, Clock::time_point deadline) {
    auto known = Known(spec);
    std::string td = Get(known, kTaskDefinition);
    if (td.empty()) {
      PG_ASSIGN_OR_RETURN(td, RegisterTaskDefinition(spec, known));
      rec(kTaskDefinition, td);
    }
    js::array subnets, sgs;
    for (const auto& s : cfg_.subnets) subnets.push_back(js::string(s));
    for (const auto& s : cfg_.security_groups) sgs.push_back(js::string(s));
    js::object req{{"cluster", cfg_.cluster},
                   {"taskDefinition", td},
                   {"launchType", "FARGATE"},
                   {"count", 1},
                   {"clientToken", Name(spec.id) + "-" + RandomToken(12)},
                   {"startedBy", "playground"},
                   {"networkConfiguration",
                    {{"awsvpcConfiguration",
                      {{"subnets", subnets},
                       {"securityGroups", sgs},
                       {"assignPublicIp", cfg_.assign_public_ip ? "ENABLED" : "DISABLED"}}}}},
                   {"tags", EcsTags(spec.id)}};
    PG_ASSIGN_OR_RETURN(auto out, client_.CallJson(aws::kEcs, "RunTask", req));
    std::string arn;
    if (const js::array* ts = Arr(out, "tasks"); ts && !ts->empty() && (*ts)[0].is_object())
      arn = Str((*ts)[0].as_object(), "taskArn");
    if (arn.empty()) {
      std::string reason = "no task started";
      if (const js::array* fs = Arr(out, "failures"); fs && !fs->empty() && (*fs)[0].is_object())
        reason = Str((*fs)[0].as_object(), "reason") + " " + Str((*fs)[0].as_object(), "detail");
      return Error::Make("run_task_failed", "RunTask: " + reason, 503);
    }
    rec(kTask, arn);
    PG_ASSIGN_OR_RETURN(std::string ip, WaitRunning(arn, deadline));
    Backends b = MakeBackends(ip);
    PG_RETURN_IF_ERROR(WaitReady(b, deadline));
    if (cfg_.routing_mode == "alb-rules") PG_RETURN_IF_ERROR(Route(spec.id, ip, rec, deadline));
    return b;
  }

  Result<std::vector<std::string>> ListTasks(const std::string& family) {
    std::vector<std::string> out;
    std::string token;
    do {
      js::object req{{"cluster", cfg_.cluster}, {"desiredStatus", "RUNNING"}};
      if (!family.empty()) req["family"] = family;
      if (!token.empty()) req["nextToken"] = token;
      PG_ASSIGN_OR_RETURN(auto r, client_.CallJson(aws::kEcs, "ListTasks", req));
      if (const js::array* a = Arr(r, "taskArns"))
        for (const auto& v : *a)
          if (v.is_string()) out.emplace_back(v.as_string());
      token = Str(r, "nextToken");
    } while (!token.empty());
    return out;
  }

  Result<std::vector<std::string>> ListTaskDefinitions(const std::string& family_prefix) {
    std::vector<std::string> out;
    std::string token;
    do {
      js::object req{{"familyPrefix", family_prefix}, {"status", "ACTIVE"}};
      if (!token.empty()) req["nextToken"] = token;
      PG_ASSIGN_OR_RETURN(auto r, client_.CallJson(aws::kEcs, "ListTaskDefinitions", req));
      if (const js::array* a = Arr(r, "taskDefinitionArns"))
        for (const auto& v : *a)
          if (v.is_string()) out.emplace_back(v.as_string());
      token = Str(r, "nextToken");
    } while (!token.empty());
    return out;
  }

  // The recorded task and any task of the playground's family.
  Result<std::vector<std::string>> TasksOf(const std::string& id, const std::map<std::string, std::string>& known) {
    std::vector<std::string> out;
    if (auto t = Get(known, kTask); !t.empty()) out.push_back(t);
    PG_ASSIGN_OR_RETURN(auto listed, ListTasks(Name(id)));
    for (auto& t : listed)
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    return out;
  }

  Result<void> StopAll(const std::string& id, const std::map<std::string, std::string>& known,
                       Clock::time_point deadline) {
    if (cfg_.routing_mode == "alb-rules" || !Get(known, kRule).empty() || !Get(known, kTargetGroup).empty())
      PG_RETURN_IF_ERROR(Unroute(id, known));
    PG_ASSIGN_OR_RETURN(auto tasks, TasksOf(id, known));
    for (const auto& arn : tasks) {
      auto r = client_.CallJson(aws::kEcs, "StopTask",
                                {{"cluster", cfg_.cluster}, {"task", arn}, {"reason", "playground stopped"}});
      if (!r.ok() && r.error().code != "InvalidParameterException") return r.error();
    }
    auto poll = Poll(deadline);
    for (const auto& arn : tasks) {
      for (;;) {
        PG_ASSIGN_OR_RETURN(auto t, DescribeTask(arn));
        if (!t || Str(*t, "lastStatus") == "STOPPED") break;
        if (!poll.Wait()) return Error::Make("timeout", "task " + arn + " did not stop in time", 504);
      }
    }
    Forget(id, {kTask});
    return Ok();
  }

  Result<void> DeregisterTaskDefinitions(const std::string& id, const std::map<std::string, std::string>& known) {
    std::set<std::string> defs;
    if (auto td = Get(known, kTaskDefinition); !td.empty()) defs.insert(td);
    PG_ASSIGN_OR_RETURN(auto listed, ListTaskDefinitions(Name(id)));
    for (const auto& arn : listed)
      if (FamilyOf(arn) == Name(id)) defs.insert(arn);
    for (const auto& arn : defs) {
      auto r = client_.CallJson(aws::kEcs, "DeregisterTaskDefinition", {{"taskDefinition", arn}});
      // An unknown or already inactive revision is a ClientException.
      if (!r.ok() && r.error().code != "ClientException") return r.error();
    }
    Forget(id, {kTaskDefinition});
    return Ok();
  }

  // ---- ELBv2 (alb-rules) ---------------------------------------------------
  std::string RuleValue(const std::string& id) const {
    return cfg_.domain.empty() ? "/p/" + id + "/*" : id + "." + cfg_.domain;
  }

  Result<std::vector<Rule>> DescribeRules() {
    std::vector<Rule> out;
    std::string marker;
    do {
      Params p{{"ListenerArn", cfg_.listener_arn}, {"PageSize", "400"}};
      if (!marker.empty()) p.emplace_back("Marker", marker);
      PG_ASSIGN_OR_RETURN(auto r, client_.CallQuery(aws::kElbv2, "DescribeRules", p));
      if (const XmlNode* rules = r.Child("Rules")) {
        for (const XmlNode* m : rules->Children("member")) {
          Rule rule{m->Text("RuleArn"), m->Text("Priority"), ""};
          if (const XmlNode* conds = m->Child("Conditions")) {
            for (const XmlNode* c : conds->Children("member")) {
              std::vector<std::string> values;
              for (const char* path : {"Values", "PathPatternConfig/Values", "HostHeaderConfig/Values"})
                if (const XmlNode* vs = c->Find(path))
                  for (const XmlNode* v : vs->Children("member")) values.push_back(v->text);
              for (const auto& v : values) {
                if (v.rfind("/p/", 0) == 0 && v.size() > 5 && v.ends_with("/*")) {
                  std::string id = v.substr(3, v.size() - 5);
                  if (IsValidPlaygroundId(id)) rule.id = id;
                } else if (!cfg_.domain.empty() && v.ends_with("." + cfg_.domain)) {
                  std::string id = v.substr(0, v.size() - cfg_.domain.size() - 1);
                  if (IsValidPlaygroundId(id)) rule.id = id;
                }
              }
            }
          }
          out.push_back(std::move(rule));
        }
      }
      marker = r.Text("NextMarker");
    } while (!marker.empty());
    return out;
  }

  // name → arn of target groups, all of them or those named.
  Result<std::vector<std::pair<std::string, std::string>>> DescribeTargetGroups(const std::vector<std::string>& names) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string marker;
    do {
      Params p;
      for (size_t i = 0; i < names.size(); ++i) p.emplace_back("Names.member." + std::to_string(i + 1), names[i]);
      if (!marker.empty()) p.emplace_back("Marker", marker);
      auto r = client_.CallQuery(aws::kElbv2, "DescribeTargetGroups", p);
      if (!r.ok()) {
        if (r.error().code == "TargetGroupNotFound") return out;
        return r.error();
      }
      if (const XmlNode* tgs = r->Child("TargetGroups"))
        for (const XmlNode* m : tgs->Children("member"))
          out.emplace_back(m->Text("TargetGroupName"), m->Text("TargetGroupArn"));
      marker = r->Text("NextMarker");
    } while (!marker.empty());
    return out;
  }

  Result<void> Route(const std::string& id, const std::string& ip, const RecordFn& rec, Clock::time_point deadline) {
    if (cfg_.listener_arn.empty() || cfg_.vpc_id.empty())
      return Error::Make("ecs_config", "routing mode alb-rules needs listener_arn and vpc_id", 500);
    // Target group (CreateTargetGroup returns the existing one for the same name and settings).
    Params tg{{"Name", Name(id)},          {"Protocol", "HTTP"},
              {"Port", std::to_string(cfg_.workspace_port)}, {"VpcId", cfg_.vpc_id},
              {"TargetType", "ip"},        {"HealthCheckPath", "/healthz"},
              {"HealthCheckIntervalSeconds", "5"}, {"HealthCheckTimeoutSeconds", "2"},
              {"HealthyThresholdCount", "2"},      {"Tags.member.1.Key", kTagKey},
              {"Tags.member.1.Value", id}};
    PG_ASSIGN_OR_RETURN(auto tgr, client_.CallQuery(aws::kElbv2, "CreateTargetGroup", tg));
    std::string tg_arn = tgr.Text("TargetGroups/member/TargetGroupArn");
    if (tg_arn.empty()) return Error::Make("malformed_response", "CreateTargetGroup returned no ARN", 502);
    rec(kTargetGroup, tg_arn);
    PG_RETURN_IF_ERROR(client_.CallQuery(aws::kElbv2, "RegisterTargets",
                                         {{"TargetGroupArn", tg_arn},
                                          {"Targets.member.1.Id", ip},
                                          {"Targets.member.1.Port", std::to_string(cfg_.workspace_port)}}));
    // Rule, at a free priority; a concurrent create may take it first.
    std::string field = cfg_.domain.empty() ? "path-pattern" : "host-header";
    std::string cfg_key = cfg_.domain.empty() ? "PathPatternConfig" : "HostHeaderConfig";
    std::string rule_arn;
    for (int attempt = 0; rule_arn.empty(); ++attempt) {
      PG_ASSIGN_OR_RETURN(auto rules, DescribeRules());
      std::set<int> used;
      for (const auto& r : rules) {
        if (r.id == id) rule_arn = r.arn;  // made by an earlier, interrupted call
        if (r.priority != "default") used.insert(std::atoi(r.priority.c_str()));
      }
      if (!rule_arn.empty()) break;
      int prio = 1;
      while (used.contains(prio)) ++prio;
      if (prio > 50000) return Error::Make("TooManyRules", "no free listener rule priority", 503);
      auto cr = client_.CallQuery(aws::kElbv2, "CreateRule",
                                  {{"ListenerArn", cfg_.listener_arn},
                                   {"Priority", std::to_string(prio)},
                                   {"Conditions.member.1.Field", field},
                                   {"Conditions.member.1." + cfg_key + ".Values.member.1", RuleValue(id)},
                                   {"Actions.member.1.Type", "forward"},
                                   {"Actions.member.1.TargetGroupArn", tg_arn},
                                   {"Tags.member.1.Key", kTagKey},
                                   {"Tags.member.1.Value", id}});
      if (cr.ok()) {
        rule_arn = cr->Text("Rules/member/RuleArn");
        if (rule_arn.empty()) return Error::Make("malformed_response", "CreateRule returned no ARN", 502);
        break;
      }
      if (cr.error().code != "PriorityInUse" || attempt >= 8) {
        if (cr.error().code == "TooManyRules")
          cr.error().message += " (an ALB allows 100 rules: use routing mode hub for larger fleets)";
        return cr.error();
      }
    }
    rec(kRule, rule_arn);
    // Healthy in the target group.
    auto poll = Poll(deadline);
    for (;;) {
      PG_ASSIGN_OR_RETURN(auto h, client_.CallQuery(aws::kElbv2, "DescribeTargetHealth", {{"TargetGroupArn", tg_arn}}));
      std::string state = h.Text("TargetHealthDescriptions/member/TargetHealth/State");
      if (state == "healthy") return Ok();
      if (!poll.Wait())
        return Error::Make("not_ready", "target " + ip + " not healthy in time (" + state + ")", 503);
    }
  }

  Result<void> Unroute(const std::string& id, const std::map<std::string, std::string>& known) {
    if (cfg_.listener_arn.empty()) return Ok();
    std::set<std::string> rules;
    if (auto r = Get(known, kRule); !r.empty()) rules.insert(r);
    PG_ASSIGN_OR_RETURN(auto all, DescribeRules());
    for (const auto& r : all)
      if (r.id == id) rules.insert(r.arn);
    for (const auto& arn : rules) {
      auto r = client_.CallQuery(aws::kElbv2, "DeleteRule", {{"RuleArn", arn}});
      if (!r.ok() && !Gone(r.error())) return r.error();
    }
    std::set<std::string> tgs;
    if (auto t = Get(known, kTargetGroup); !t.empty()) tgs.insert(t);
    PG_ASSIGN_OR_RETURN(auto named, DescribeTargetGroups({Name(id)}));
    for (const auto& [name, arn] : named) tgs.insert(arn);
    for (const auto& arn : tgs) {
      auto r = client_.CallQuery(aws::kElbv2, "DeleteTargetGroup", {{"TargetGroupArn", arn}});
      if (!r.ok() && !Gone(r.error())) return r.error();
    }
    Forget(id, {kRule, kTargetGroup});
    return Ok();
  }

  EcsConfig cfg_;
  Client client_;
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> memory_;  // id → recorded resources
};

// ---- configuration --------------------------------------------------------

Result<void> SetFromJson(EcsConfig* c, const js::object& o) {
  JsonReader r(o, "ecs.json: ");
  PG_RETURN_IF_ERROR(r.Only({"region", "cluster", "subnets", "security_groups", "efs_security_groups",
                             "assign_public_ip", "storage_mode", "file_system_id", "routing_mode", "listener_arn",
                             "vpc_id", "domain", "workspace_image", "runner_image", "execution_role_arn",
                             "task_role_arn", "log_group", "prefix", "workspace_port", "runner_port",
                             "poll_initial_ms", "poll_max_ms", "destroy_timeout_ms", "retry_max_attempts",
                             "retry_base_ms", "request_timeout_ms", "endpoints"}));
  auto str = [&](const char* k, std::string* out) -> Result<void> {
    PG_ASSIGN_OR_RETURN(auto v, r.String(k));
    if (v) *out = *v;
    return Ok();
  };
  for (auto [k, out] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"region", &c->region}, {"cluster", &c->cluster}, {"storage_mode", &c->storage_mode},
           {"file_system_id", &c->file_system_id}, {"routing_mode", &c->routing_mode},
           {"listener_arn", &c->listener_arn}, {"vpc_id", &c->vpc_id}, {"domain", &c->domain},
           {"workspace_image", &c->workspace_image}, {"runner_image", &c->runner_image},
           {"execution_role_arn", &c->execution_role_arn}, {"task_role_arn", &c->task_role_arn},
           {"log_group", &c->log_group}, {"prefix", &c->prefix}})
    PG_RETURN_IF_ERROR(str(k, out));
  for (auto [k, out] : std::initializer_list<std::pair<const char*, std::vector<std::string>*>>{
           {"subnets", &c->subnets}, {"security_groups", &c->security_groups},
           {"efs_security_groups", &c->efs_security_groups}}) {
    PG_ASSIGN_OR_RETURN(auto v, r.StringArray(k));
    if (v) *out = *v;
  }
  PG_ASSIGN_OR_RETURN(auto pub, r.Bool("assign_public_ip"));
  if (pub) c->assign_public_ip = *pub;
  PG_ASSIGN_OR_RETURN(auto wp, r.Int("workspace_port", 1, 65535));
  if (wp) c->workspace_port = static_cast<uint16_t>(*wp);
  PG_ASSIGN_OR_RETURN(auto rp, r.Int("runner_port", 1, 65535));
  if (rp) c->runner_port = static_cast<uint16_t>(*rp);
  for (auto [k, out] : std::initializer_list<std::pair<const char*, std::chrono::milliseconds*>>{
           {"poll_initial_ms", &c->poll_initial}, {"poll_max_ms", &c->poll_max},
           {"destroy_timeout_ms", &c->destroy_timeout}, {"retry_base_ms", &c->client.retry.base_delay},
           {"request_timeout_ms", &c->client.timeout}}) {
    PG_ASSIGN_OR_RETURN(auto v, r.Int(k, 0, 86400000));
    if (v) *out = std::chrono::milliseconds(*v);
  }
  PG_ASSIGN_OR_RETURN(auto att, r.Int("retry_max_attempts", 1, 20));
  if (att) c->client.retry.max_attempts = static_cast<int>(*att);
  PG_ASSIGN_OR_RETURN(const js::object* eps, r.Object("endpoints"));
  if (eps) {
    JsonReader er(*eps, "ecs.json: endpoints.");
    PG_RETURN_IF_ERROR(er.Only({"ecs", "efs", "elbv2"}));
    for (const char* k : {"ecs", "efs", "elbv2"}) {
      PG_ASSIGN_OR_RETURN(auto v, er.String(k));
      if (v) c->client.endpoints[k] = *v;
    }
  }
  return Ok();
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Result<void> Validate(const EcsConfig& c) {
  auto bad = [](const std::string& m) { return Error::Make("ecs_config", "ecs orchestrator: " + m, 500); };
  if (c.region.empty()) return bad("no region (set AWS_REGION or region in ecs.json)");
  if (c.storage_mode != "access-point" && c.storage_mode != "file-system")
    return bad("storage_mode must be access-point or file-system");
  if (c.routing_mode != "hub" && c.routing_mode != "alb-rules") return bad("routing_mode must be hub or alb-rules");
  if (c.storage_mode == "access-point" && c.file_system_id.empty()) return bad("access-point mode needs file_system_id");
  if (c.routing_mode == "alb-rules" && (c.listener_arn.empty() || c.vpc_id.empty()))
    return bad("alb-rules mode needs listener_arn and vpc_id");
  if (c.subnets.empty()) return bad("no subnets");
  if (c.workspace_image.empty() || c.runner_image.empty()) return bad("workspace_image and runner_image are required");
  if (c.cluster.empty()) return bad("no cluster");
  if (c.prefix.empty() || c.prefix.size() > 3) return bad("prefix must be 1-3 characters (target group names ≤ 32)");
  return Ok();
}

}  // namespace

Result<EcsConfig> LoadEcsConfig(const std::string& data_dir, const aws::EnvFn& env) {
  EcsConfig c;
  c.client.retry.max_attempts = 5;
  std::ifstream in(data_dir + "/ecs.json");
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    PG_ASSIGN_OR_RETURN(auto obj, ParseJsonObject(ss.str(), false));
    PG_RETURN_IF_ERROR(SetFromJson(&c, obj));
  }
  auto e = [&](const char* k) { return env(std::string("PLAYGROUND_ECS_") + k); };
  for (auto [k, out] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"CLUSTER", &c.cluster}, {"STORAGE_MODE", &c.storage_mode}, {"FILE_SYSTEM_ID", &c.file_system_id},
           {"ROUTING_MODE", &c.routing_mode}, {"LISTENER_ARN", &c.listener_arn}, {"VPC_ID", &c.vpc_id},
           {"DOMAIN", &c.domain}, {"WORKSPACE_IMAGE", &c.workspace_image}, {"RUNNER_IMAGE", &c.runner_image},
           {"EXECUTION_ROLE_ARN", &c.execution_role_arn}, {"TASK_ROLE_ARN", &c.task_role_arn},
           {"LOG_GROUP", &c.log_group}, {"PREFIX", &c.prefix}})
    if (auto v = e(k)) *out = *v;
  for (auto [k, out] : std::initializer_list<std::pair<const char*, std::vector<std::string>*>>{
           {"SUBNETS", &c.subnets}, {"SECURITY_GROUPS", &c.security_groups},
           {"EFS_SECURITY_GROUPS", &c.efs_security_groups}})
    if (auto v = e(k)) *out = SplitComma(*v);
  if (auto v = e("ASSIGN_PUBLIC_IP")) c.assign_public_ip = *v == "true" || *v == "1";
  if (c.region.empty() || env("AWS_REGION") || env("AWS_DEFAULT_REGION")) {
    std::string r = aws::ResolveRegion(env);
    if (!r.empty()) c.region = r;
  }
  if (auto v = env("PLAYGROUND_AWS_ENDPOINT")) c.client.endpoint = *v;
  for (auto [k, id] : {std::pair{"PLAYGROUND_AWS_ENDPOINT_ECS", "ecs"}, std::pair{"PLAYGROUND_AWS_ENDPOINT_EFS", "efs"},
                       std::pair{"PLAYGROUND_AWS_ENDPOINT_ELBV2", "elbv2"}})
    if (auto v = env(k)) c.client.endpoints[id] = *v;
  PG_RETURN_IF_ERROR(Validate(c));
  return c;
}

Result<std::unique_ptr<Orchestrator>> MakeEcsOrchestrator(EcsConfig config,
                                                          std::shared_ptr<aws::CredentialsProvider> creds) {
  PG_RETURN_IF_ERROR(Validate(config));
  return std::unique_ptr<Orchestrator>(new EcsOrchestrator(std::move(config), std::move(creds)));
}

Result<std::unique_ptr<Orchestrator>> MakeEcsOrchestrator(const std::string& data_dir) {
  PG_ASSIGN_OR_RETURN(EcsConfig c, LoadEcsConfig(data_dir));
  return MakeEcsOrchestrator(std::move(c), aws::DefaultCredentialsChain());
}

}  // namespace pg::orchestrator
