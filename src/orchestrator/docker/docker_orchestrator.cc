#include "orchestrator/docker/docker_orchestrator.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/fs.h"
#include "orchestrator/docker/docker_api.h"
#include "orchestrator/docker/docker_spec.h"
#include "orchestrator/templates.h"

namespace pg::orchestrator {
namespace {

using boost::beast::http::verb;
using docker::Api;

constexpr std::string_view kRoles[] = {"workspace", "runner"};
// Resource key recorded once the volume holds its template.
const std::string kSeeded = "docker.seeded";

Result<void> CheckId(const std::string& id) {
  if (!IsValidPlaygroundId(id)) return Error::BadRequest("invalid_id", "not a playground id: '" + id + "'");
  return Ok();
}

// The label filter of list calls, URL-encoded: {"label":["k=v", ...]}.
std::string LabelFilter(std::initializer_list<std::string> labels) {
  json::array arr;
  for (const auto& l : labels) arr.emplace_back(l);
  return docker::UrlEncode(json::serialize(json::object{{"label", std::move(arr)}}));
}

const json::value* Path(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* cur = &v;
  for (auto k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(k);
    if (!cur) return nullptr;
  }
  return cur;
}
std::string StringAt(const json::value& v, std::initializer_list<std::string_view> keys) {
  auto* p = Path(v, keys);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}
int64_t IntAt(const json::value& v, std::initializer_list<std::string_view> keys) {
  auto* p = Path(v, keys);
  return p && p->is_int64() ? p->as_int64() : (p && p->is_uint64() ? static_cast<int64_t>(p->as_uint64()) : 0);
}
bool BoolAt(const json::value& v, std::initializer_list<std::string_view> keys) {
  auto* p = Path(v, keys);
  return p && p->is_bool() && p->as_bool();
}

class DockerOrchestrator final : public Orchestrator {
 public:
  explicit DockerOrchestrator(DockerConfig config) : config_(std::move(config)), api_(config_.socket) {}

  std::string Name() const override { return "docker"; }

  Result<void> CreateVolume(const PlaygroundSpec& spec, const RecordFn& record) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    const TemplateFiles* files = FindTemplate(spec.template_name);
    if (!files) return Error::BadRequest("unknown_template", "no template named '" + spec.template_name + "'");
    const std::string volume = docker::VolumeName(spec.id);
    auto existing = api_.Json(verb::get, "/volumes/" + volume);
    if (existing.ok()) {
      if (record) record("docker.volume", volume);
      // Seeded before: kept as it is. A volume whose seeding never completed
      // (hub killed in between; nothing has run on it) is seeded again.
      if (spec.resources.count(kSeeded)) return Ok();
      auto seeded = Seed(spec, *files);
      if (!seeded.ok()) return seeded.error();
      if (record) record(kSeeded, "1");
      return Ok();
    }
    if (existing.error().code != "not_found") return existing.error();

    json::value create = json::object{
        {"Name", volume},
        {"Labels", docker::Labels(config_, spec.id, "")}};
    PG_RETURN_IF_ERROR(api_.Json(verb::post, "/volumes/create", &create));
    if (record) record("docker.volume", volume);
    auto seeded = Seed(spec, *files);
    if (!seeded.ok()) {
      // A half-seeded volume would be kept as it is by a retry: remove it.
      (void)RemoveContainer(docker::ContainerName(spec.id, "seed"));
      (void)api_.Call(verb::delete_, "/volumes/" + volume + "?force=1");
      return seeded.error();
    }
    if (record) record(kSeeded, "1");
    return Ok();
  }

  Result<Backends> Start(const PlaygroundSpec& spec, const RecordFn& record, Clock::time_point deadline) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    auto volume = api_.Json(verb::get, "/volumes/" + docker::VolumeName(spec.id));
    if (!volume.ok()) {
      if (volume.error().code == "not_found") {
        return Error::Make("volume_missing", "playground " + spec.id + " has no volume", 409);
      }
      return volume.error();
    }
    PG_RETURN_IF_ERROR(PrepareRunDir(spec.id));
    for (auto role : kRoles) {
      auto started = StartContainer(spec, role, record);
      if (!started.ok()) {
        CleanUpFailedStart(spec.id);
        return started.error();
      }
    }
    Backends backends = BackendsOf(spec.id);
    auto ready = WaitBoth(spec.id, backends, deadline);
    if (!ready.ok()) {
      Error e = ready.error();
      e.message += Diagnose(spec.id);
      CleanUpFailedStart(spec.id);
      return e;
    }
    return backends;
  }

  Result<void> Stop(const PlaygroundSpec& spec) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    for (auto role : kRoles) {
      auto name = docker::ContainerName(spec.id, role);
      auto stopped = api_.Call(verb::post, "/containers/" + name + "/stop?t=3", {}, "application/json",
                               std::chrono::seconds(30));
      if (!stopped.ok()) return stopped.error();
    }
    PG_RETURN_IF_ERROR(RemoveContainers(spec.id));
    RemoveSockets(spec.id);
    return Ok();
  }

  Result<void> Destroy(const PlaygroundSpec& spec) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    return RemoveEverything(spec.id);
  }

  Result<Backends> Adopt(const PlaygroundSpec& spec, Clock::time_point deadline) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    bool running = true;
    for (auto role : kRoles) {
      auto info = api_.Json(verb::get, "/containers/" + docker::ContainerName(spec.id, role) + "/json");
      if (!info.ok()) {
        if (info.error().code != "not_found") return info.error();
        running = false;
      } else if (!BoolAt(*info, {"State", "Running"})) {
        running = false;
      }
    }
    if (!running) return Start(spec, RecordFn(), deadline);  // recreates both; the volume is kept
    Backends backends = BackendsOf(spec.id);
    PG_RETURN_IF_ERROR(WaitBoth(spec.id, backends, deadline));
    return backends;
  }

  Result<std::vector<std::string>> ListOwned() override {
    std::set<std::string> ids;
    // Only this hub's: other hubs may share the engine.
    const std::string filter = LabelFilter({std::string(docker::kLabelManaged) + "=true",
                                            std::string(docker::kLabelHub) + "=" + docker::HubLabel(config_)});
    PG_ASSIGN_OR_RETURN(json::value containers, api_.Json(verb::get, "/containers/json?all=1&filters=" + filter));
    if (containers.is_array()) {
      for (const auto& c : containers.as_array()) {
        auto id = StringAt(c, {"Labels", docker::kLabelId});
        if (IsValidPlaygroundId(id)) ids.insert(id);
      }
    }
    PG_ASSIGN_OR_RETURN(json::value volumes, api_.Json(verb::get, "/volumes?filters=" + filter));
    if (auto* list = Path(volumes, {"Volumes"}); list && list->is_array()) {
      for (const auto& v : list->as_array()) {
        auto id = StringAt(v, {"Labels", docker::kLabelId});
        if (IsValidPlaygroundId(id)) ids.insert(id);
      }
    }
    return std::vector<std::string>(ids.begin(), ids.end());
  }

  Result<void> DestroyOrphan(const std::string& id) override {
    PG_RETURN_IF_ERROR(CheckId(id));
    return RemoveEverything(id);
  }

  Health Status(const std::string& id) override {
    Health h;
    if (!IsValidPlaygroundId(id)) {
      h.detail = "not a playground id";
      return h;
    }
    std::string detail;
    for (auto role : kRoles) {
      auto info = api_.Json(verb::get, "/containers/" + docker::ContainerName(id, role) + "/json");
      if (!info.ok()) {
        detail += std::string(role) + ": " + (info.error().code == "not_found" ? "absent" : info.error().message) + "; ";
        continue;
      }
      bool up = BoolAt(*info, {"State", "Running"}) && !BoolAt(*info, {"State", "Restarting"});
      (role == "runner" ? h.runner_up : h.workspace_up) = up;
      h.restarts += static_cast<int>(IntAt(*info, {"RestartCount"}));
      if (!up) {
        detail += std::string(role) + ": " + StringAt(*info, {"State", "Status"}) + " (exit " +
                  std::to_string(IntAt(*info, {"State", "ExitCode"})) +
                  (BoolAt(*info, {"State", "OOMKilled"}) ? ", out of memory" : "") + "); ";
      }
    }
    h.detail = detail + "docker: runs share the runner container's uid, cgroup and limits (no nested namespaces)";
    return h;
  }

 private:
  Backends BackendsOf(const std::string& id) const {
    std::string dir = docker::RunDir(config_, id);
    return Backends{Endpoint::Unix(dir + "/workspace.sock"), Endpoint::Unix(dir + "/runner.sock")};
  }

  // Creates the volume's root (copied up from the image's /workspace, owned
  // by pg) through a never-started container, and uploads the template.
  Result<void> Seed(const PlaygroundSpec& spec, const TemplateFiles& files) {
    const std::string name = docker::ContainerName(spec.id, "seed");
    PG_RETURN_IF_ERROR(RemoveContainer(name));
    json::value body = json::object{
        {"Image", config_.workspace_image},
        {"Entrypoint", json::array{"/bin/true"}},
        {"Cmd", json::array{}},
        {"User", std::to_string(docker::kUid) + ":" + std::to_string(docker::kGid)},
        {"NetworkDisabled", true},
        {"Labels", docker::Labels(config_, spec.id, "seed")},
        {"HostConfig",
         json::object{{"NetworkMode", "none"},
                      {"ReadonlyRootfs", true},
                      {"CapDrop", json::array{"ALL"}},
                      {"Mounts", json::array{json::object{{"Type", "volume"}, {"Source", docker::VolumeName(spec.id)},
                                                          {"Target", "/workspace"}}}}}}};
    PG_RETURN_IF_ERROR(api_.Json(verb::post, "/containers/create?name=" + name, &body));
    Result<void> result = Ok();
    if (!files.empty()) {
      auto tar = docker::MakeTar(files, docker::kUid, docker::kGid);
      if (!tar.ok()) {
        result = tar.error();
      } else {
        auto put = api_.Call(verb::put, "/containers/" + name + "/archive?path=%2Fworkspace&noOverwriteDirNonDir=true",
                             std::move(*tar), "application/x-tar");
        if (!put.ok()) {
          result = put.error();
        } else if (put->status != 200) {
          result = Error::Make("docker_error", "seeding the volume: HTTP " + std::to_string(put->status) + ": " + put->body, 502);
        }
      }
    }
    auto removed = RemoveContainer(name);
    if (result.ok() && !removed.ok()) return removed;
    return result;
  }

  Result<void> PrepareRunDir(const std::string& id) {
    std::string run = config_.data_dir + "/run";
    if (::mkdir(config_.data_dir.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + config_.data_dir, errno);
    if (::mkdir(run.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + run, errno);
    std::string dir = docker::RunDir(config_, id);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + dir, errno);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return Error::FromErrno("stat " + dir, errno);
    if (!S_ISDIR(st.st_mode)) return Error::Internal(dir + " is not a directory");
    // The servers (uid 1000 in the containers) create their sockets here; the
    // hub connects as root. Nobody else on the host may enter.
    if ((st.st_uid != static_cast<uid_t>(docker::kUid) || st.st_gid != static_cast<gid_t>(docker::kGid)) &&
        ::chown(dir.c_str(), docker::kUid, docker::kGid) != 0) {
      return Error::FromErrno("chown " + dir + " to the container user (run the hub as root)", errno);
    }
    if (::chmod(dir.c_str(), 0700) != 0) return Error::FromErrno("chmod " + dir, errno);
    RemoveSockets(id);
    return Ok();
  }

  void RemoveSockets(const std::string& id) {
    std::string dir = docker::RunDir(config_, id);
    ::unlink((dir + "/workspace.sock").c_str());
    ::unlink((dir + "/runner.sock").c_str());
  }

  Result<void> StartContainer(const PlaygroundSpec& spec, std::string_view role, const RecordFn& record) {
    const std::string name = docker::ContainerName(spec.id, role);
    PG_RETURN_IF_ERROR(RemoveContainer(name));
    json::value body = docker::ContainerConfig(config_, spec, role);
    PG_ASSIGN_OR_RETURN(json::value created, api_.Json(verb::post, "/containers/create?name=" + name, &body));
    std::string cid = StringAt(created, {"Id"});
    if (record && !cid.empty()) record("docker." + std::string(role), cid);
    auto started = api_.Call(verb::post, "/containers/" + name + "/start");
    if (!started.ok()) return started.error();
    if (started->status != 204 && started->status != 304) {
      return Error::Make("docker_error", "starting " + name + ": HTTP " + std::to_string(started->status) + ": " + started->body, 502);
    }
    return Ok();
  }

  // WaitReady, but fails early when a container has given up (exited after
  // its last restart) instead of waiting for the deadline.
  Result<void> WaitBoth(const std::string& id, const Backends& backends, Clock::time_point deadline) {
    for (;;) {
      auto slice = std::min(deadline, Clock::now() + std::chrono::milliseconds(500));
      auto ready = WaitReady(backends, slice);
      if (ready.ok()) return Ok();
      if (Clock::now() >= deadline) return ready;
      for (auto role : kRoles) {
        auto info = api_.Json(verb::get, "/containers/" + docker::ContainerName(id, role) + "/json");
        if (!info.ok()) {
          return Error::Make("not_ready", std::string(role) + " container vanished: " + info.error().message, 503);
        }
        std::string status = StringAt(*info, {"State", "Status"});
        if ((status == "exited" || status == "dead") && IntAt(*info, {"RestartCount"}) >= docker::kMaxRestarts) {
          return Error::Make("not_ready", std::string(role) + " container exited (code " +
                                              std::to_string(IntAt(*info, {"State", "ExitCode"})) + ") " +
                                              std::to_string(docker::kMaxRestarts + 1) + " times",
                             503);
        }
      }
    }
  }

  // " [workspace: <state>, log: ...] [runner: ...]" for error messages.
  std::string Diagnose(const std::string& id) {
    std::string out;
    for (auto role : kRoles) {
      const std::string name = docker::ContainerName(id, role);
      auto info = api_.Json(verb::get, "/containers/" + name + "/json");
      if (!info.ok()) continue;
      out += " [" + std::string(role) + ": " + StringAt(*info, {"State", "Status"}) + ", restarts " +
             std::to_string(IntAt(*info, {"RestartCount"}));
      std::string err = StringAt(*info, {"State", "Error"});
      if (!err.empty()) out += ", error: " + err;
      auto logs = api_.Call(verb::get, "/containers/" + name + "/logs?stdout=1&stderr=1&tail=5");
      if (logs.ok() && logs->status == 200) {
        std::string text = docker::DemuxLogs(logs->body);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
        if (!text.empty()) out += ", log: " + text;
      }
      out += "]";
    }
    return out;
  }

  Result<void> RemoveContainer(const std::string& name_or_id) {
    auto r = api_.Json(verb::delete_, "/containers/" + name_or_id + "?force=1&v=0", nullptr, std::chrono::seconds(60));
    if (!r.ok() && r.error().code != "not_found") {
      // 409 "removal already in progress" ends with the container gone.
      if (r.error().code == "conflict" && r.error().message.find("in progress") != std::string::npos) return Ok();
      return r.error();
    }
    return Ok();
  }

  void CleanUpFailedStart(const std::string& id) {
    auto r = RemoveContainers(id);
    if (!r.ok()) spdlog::warn("docker: cleaning up the failed start of {}: {}", id, r.error().message);
    RemoveSockets(id);
  }

  Result<void> RemoveContainers(const std::string& id) {
    Result<void> result = Ok();
    for (auto role : kRoles) {
      auto r = RemoveContainer(docker::ContainerName(id, role));
      if (!r.ok() && result.ok()) result = r;
    }
    return result;
  }

  // Containers (by name and by label), the volume, the run directory.
  Result<void> RemoveEverything(const std::string& id) {
    Result<void> result = RemoveContainers(id);
    auto keep = [&](Result<void> r) {
      if (!r.ok() && result.ok()) result = r;
    };
    keep(RemoveContainer(docker::ContainerName(id, "seed")));
    const std::string filter = LabelFilter({std::string(docker::kLabelId) + "=" + id});
    auto listed = api_.Json(verb::get, "/containers/json?all=1&filters=" + filter);
    if (!listed.ok()) {
      keep(listed.error());
    } else if (listed->is_array()) {
      for (const auto& c : listed->as_array()) keep(RemoveContainer(StringAt(c, {"Id"})));
    }
    std::vector<std::string> volumes{docker::VolumeName(id)};
    auto vols = api_.Json(verb::get, "/volumes?filters=" + filter);
    if (vols.ok()) {
      if (auto* list = Path(*vols, {"Volumes"}); list && list->is_array()) {
        for (const auto& v : list->as_array()) {
          std::string n = StringAt(v, {"Name"});
          if (!n.empty() && n != volumes[0]) volumes.push_back(n);
        }
      }
    }
    for (const auto& v : volumes) {
      auto r = api_.Json(verb::delete_, "/volumes/" + docker::UrlEncode(v) + "?force=1");
      if (!r.ok() && r.error().code != "not_found") keep(r.error());
    }
    std::string dir = docker::RunDir(config_, id);
    if (::access(dir.c_str(), F_OK) == 0) keep(RemoveTree(dir));
    return result;
  }

  DockerConfig config_;
  Api api_;
};

}  // namespace

Result<std::unique_ptr<Orchestrator>> MakeDockerOrchestrator(DockerConfig config) {
  if (const char* host = std::getenv("DOCKER_HOST"); host && *host) {
    std::string_view h(host);
    if (h.substr(0, 7) != "unix://") {
      return Error::Make("invalid_config", "DOCKER_HOST must be unix:///path (got " + std::string(h) + ")");
    }
    config.socket = std::string(h.substr(7));
  }
  if (const char* v = std::getenv("PLAYGROUND_DOCKER_WORKSPACE_IMAGE"); v && *v) config.workspace_image = v;
  if (const char* v = std::getenv("PLAYGROUND_DOCKER_RUNNER_IMAGE"); v && *v) config.runner_image = v;
  if (config.data_dir.empty() || config.data_dir[0] != '/') {
    return Error::Make("invalid_config", "the docker orchestrator needs an absolute data dir");
  }
  while (config.data_dir.size() > 1 && config.data_dir.back() == '/') config.data_dir.pop_back();
  docker::Api api(config.socket);
  auto ping = api.Call(verb::get, "/_ping", {}, "application/json", std::chrono::seconds(5));
  if (!ping.ok() || ping->status != 200) {
    return Error::Make("docker_unavailable",
                       "the Docker engine does not answer at " + config.socket +
                           (ping.ok() ? " (HTTP " + std::to_string(ping->status) + ")" : ": " + ping.error().message) +
                           "; start it with scripts/start-dockerd.sh",
                       503);
  }
  for (const auto& image : {config.workspace_image, config.runner_image}) {
    auto found = api.Json(verb::get, "/images/" + image + "/json");
    if (!found.ok()) {
      return Error::Make("image_missing",
                         "docker image " + image + " is missing (" + found.error().message +
                             "); build it with scripts/build-images.sh",
                         503);
    }
  }
  return std::unique_ptr<Orchestrator>(new DockerOrchestrator(std::move(config)));
}

}  // namespace pg::orchestrator
