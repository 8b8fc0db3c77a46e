#include "orchestrator/docker/docker_orchestrator.h"

#include <dirent.h>
#include <fcntl.h>
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
#include "sandbox/quota.h"

namespace pg::orchestrator {
namespace {

using boost::beast::http::verb;
using docker::Api;

constexpr std::string_view kRoles[] = {"workspace", "runner"};
// How long a step waits for the engine to finish what a killed hub (or
// another caller) started on the same name: a removal in progress, a create
// of the same container name, a container still using a volume.
constexpr auto kSettle = std::chrono::seconds(30);

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

bool IsEmptyDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

class DockerOrchestrator final : public Orchestrator {
 public:
  explicit DockerOrchestrator(DockerConfig config) : config_(std::move(config)), api_(config_.socket) {}

  std::string Name() const override { return "docker"; }

  // The host directory (its own ext4 file system of limits.disk_mb), the
  // template written into its workspace/, the marker `seeded`, then the
  // named volume binding workspace/. Every step is idempotent, so a create
  // interrupted anywhere (a hub killed mid-create) completes on the next call.
  Result<void> CreateVolume(const PlaygroundSpec& spec, const RecordFn& record) override {
    PG_RETURN_IF_ERROR(CheckId(spec.id));
    const TemplateFiles* files = FindTemplate(spec.template_name);
    if (!files) return Error::BadRequest("unknown_template", "no template named '" + spec.template_name + "'");
    const std::string volume = docker::VolumeName(spec.id);
    auto existing = api_.Json(verb::get, "/volumes/" + volume);
    if (!existing.ok() && existing.error().code != "not_found") return existing.error();
    if (existing.ok() && StringAt(*existing, {"Options", "device"}) != docker::VolumeDataDir(config_, spec.id)) {
      // A volume of an earlier version (seeded through a container, no
      // quota, data under the engine's directory): kept as it is.
      if (record) record("docker.volume", volume);
      return Ok();
    }
    PG_RETURN_IF_ERROR(PrepareVolumeDir(spec, *files, record));
    if (!existing.ok()) {
      json::value body = docker::VolumeConfig(config_, spec.id);
      PG_RETURN_IF_ERROR(api_.Json(verb::post, "/volumes/create", &body));
    }
    if (record) record("docker.volume", volume);
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
    PG_RETURN_IF_ERROR(MountQuota(spec, record));  // again, after a host restart
    PG_RETURN_IF_ERROR(ChownVolumeOfEarlierVersion(spec.id));
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
    // A volume file system that had to be mounted again (host restart) is
    // not what running containers, if any, see: start them afresh.
    PG_ASSIGN_OR_RETURN(bool remounted, MountQuota(spec, nullptr));
    bool running = !remounted;
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
    // Host directories and images (a hub killed before the named volume existed).
    for (const char* sub : {"/volumes", "/run"}) {
      DIR* d = ::opendir((config_.data_dir + sub).c_str());
      if (!d) continue;
      while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;  // <id>, <id>.ext4, .<id>.ext4.tmp
        if (!name.empty() && name[0] == '.') name.erase(0, 1);
        name = name.substr(0, name.find('.'));
        if (IsValidPlaygroundId(name)) ids.insert(name);
      }
      ::closedir(d);
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
    h.detail = detail + "docker: runs share the runner container's uid (the playground's own), cgroup and limits (no nested namespaces)";
    return h;
  }

 private:
  Backends BackendsOf(const std::string& id) const {
    std::string dir = docker::RunDir(config_, id);
    return Backends{Endpoint::Unix(dir + "/workspace.sock"), Endpoint::Unix(dir + "/runner.sock")};
  }

  // Makes VolumeDir the playground's own ext4 file system of
  // limits.disk_mb, or mounts its image again (host restart). A non-empty
  // directory without an image stays as it is (a host without loop devices:
  // no quota). Returns whether it mounted the file system now.
  Result<bool> MountQuota(const PlaygroundSpec& spec, const RecordFn& record) {
    const std::string dir = docker::VolumeDir(config_, spec.id);
    if (sandbox::IsQuotaVolume(dir)) return false;
    if (::access(dir.c_str(), F_OK) != 0) return false;  // a volume of an earlier version
    if (::access((dir + ".ext4").c_str(), F_OK) != 0 && !IsEmptyDir(dir)) return false;
    auto q = sandbox::CreateQuotaVolume(dir, spec.limits.disk_mb << 20);
    if (!q.ok()) return Error::Make("volume_failed", "disk quota: " + q.error().message, 500);
    if (record) record("quota", q->enforced ? q->detail : "none: " + q->detail);
    if (!q->enforced) spdlog::warn("docker: playground {} has no disk quota: {}", spec.id, q->detail);
    return q->enforced;
  }

  // VolumeDir with its file system, workspace/ (owned by the container
  // user) and, until the marker `seeded` exists, the template's files that
  // are missing there. The marker is written (durably) last.
  Result<void> PrepareVolumeDir(const PlaygroundSpec& spec, const TemplateFiles& files, const RecordFn& record) {
    const std::string volumes = config_.data_dir + "/volumes";
    const std::string dir = docker::VolumeDir(config_, spec.id);
    if (::mkdir(config_.data_dir.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + config_.data_dir, errno);
    if (::mkdir(volumes.c_str(), 0711) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + volumes, errno);
    // Root's, 0711: the engine (root) binds workspace/ below it.
    if (::mkdir(dir.c_str(), 0711) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + dir, errno);
    PG_RETURN_IF_ERROR(MountQuota(spec, record));
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return Error::FromErrno("open " + dir, errno);
    if (::mkdirat(root.get(), "workspace", 0755) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + dir + "/workspace", errno);
    UniqueFd ws(::openat(root.get(), "workspace", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!ws.valid()) return Error::FromErrno("open " + dir + "/workspace", errno);
    const int uid = docker::ContainerUid(spec.id);
    if (::fchown(ws.get(), uid, uid) != 0) {
      return Error::FromErrno("chown " + dir + "/workspace to the container user (run the hub as root)", errno);
    }
    if (::faccessat(root.get(), "seeded", F_OK, AT_SYMLINK_NOFOLLOW) == 0) return Ok();
    // Nothing has run on this volume yet; a file already there was written
    // by an interrupted earlier call and is kept.
    for (const auto& [path, content] : files) {
      if (::faccessat(ws.get(), path.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) continue;
      PG_RETURN_IF_ERROR(WriteFileBeneath(ws.get(), path, content, /*durable=*/false));
      // The file and the directories leading to it belong to the container user.
      for (size_t end = path.find('/'); ; end = path.find('/', end + 1)) {
        std::string part = path.substr(0, end);
        if (::fchownat(ws.get(), part.c_str(), uid, uid, AT_SYMLINK_NOFOLLOW) != 0) {
          return Error::FromErrno("chown " + part, errno);
        }
        if (end == std::string::npos) break;
      }
    }
    if (::syncfs(ws.get()) != 0) return Error::FromErrno("syncfs " + dir, errno);
    return WriteFileBeneath(root.get(), "seeded", "", /*durable=*/true);
  }

  // A volume made by an earlier version belongs to uid 1000 (then shared by
  // all docker playgrounds): its files go to the playground's own uid, before
  // any container of it runs. Symlinks are changed, never followed.
  Result<void> ChownVolumeOfEarlierVersion(const std::string& id) {
    const std::string data = docker::VolumeDataDir(config_, id);
    UniqueFd ws(::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!ws.valid()) return Ok();  // a volume of an earlier layout: left as it is
    struct stat st {};
    const int uid = docker::ContainerUid(id);
    if (::fstat(ws.get(), &st) != 0 || st.st_uid == static_cast<uid_t>(uid)) return Ok();
    spdlog::info("docker: playground {}: volume files from uid {} to uid {}", id, st.st_uid, uid);
    return ChownTree(ws.get(), uid, 0);
  }

  static Result<void> ChownTree(int dirfd, int uid, int depth) {
    if (depth > 256) return Error::Internal("chown: directories nested too deeply");
    if (::fchown(dirfd, uid, uid) != 0) return Error::FromErrno("chown", errno);
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return Error::FromErrno("dup", errno);
    DIR* d = ::fdopendir(dup);
    if (!d) {
      ::close(dup);
      return Error::FromErrno("fdopendir", errno);
    }
    std::vector<std::string> subdirs;
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (::fchownat(dirfd, name.c_str(), uid, uid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
        int err = errno;
        ::closedir(d);
        return Error::FromErrno("chown " + name, err);
      }
      if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) subdirs.push_back(name);
    }
    ::closedir(d);
    for (const auto& name : subdirs) {
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
      if (!sub.valid()) continue;  // not a directory (or gone)
      PG_RETURN_IF_ERROR(ChownTree(sub.get(), uid, depth + 1));
    }
    return Ok();
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
    // The servers (the playground's own uid in the containers) create their
    // sockets here; the hub connects as root. Nobody else on the host may enter.
    const int uid = docker::ContainerUid(id);
    if ((st.st_uid != static_cast<uid_t>(uid) || st.st_gid != static_cast<gid_t>(uid)) &&
        ::chown(dir.c_str(), uid, uid) != 0) {
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
    json::value body = docker::ContainerConfig(config_, spec, role);
    PG_ASSIGN_OR_RETURN(std::string cid, CreateContainer(name, body));
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

  // Removes a container (gone already is fine) and returns once it is gone.
  Result<void> RemoveContainer(const std::string& name_or_id) {
    const auto give_up = Clock::now() + kSettle;
    for (;;) {
      auto r = api_.Json(verb::delete_, "/containers/" + name_or_id + "?force=1&v=0", nullptr, std::chrono::seconds(60));
      if (r.ok() || r.error().code == "not_found") return Ok();
      // 409 "removal already in progress": wait until the engine is done.
      if (r.error().code != "conflict" || Clock::now() >= give_up) return r.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Creates container `name` (a leftover of that name is removed first) and
  // returns its id. A hub killed in the middle of a create leaves the engine
  // finishing that request: the name can be taken again a moment after a
  // removal found nothing, so a name conflict is removed and retried.
  Result<std::string> CreateContainer(const std::string& name, const json::value& body) {
    const auto give_up = Clock::now() + kSettle;
    for (int attempt = 1;; ++attempt) {
      PG_RETURN_IF_ERROR(RemoveContainer(name));
      auto created = api_.Json(verb::post, "/containers/create?name=" + name, &body);
      if (created.ok()) return StringAt(*created, {"Id"});
      if (created.error().code != "conflict" || Clock::now() >= give_up) return created.error();
      spdlog::info("docker: container name {} still taken (attempt {}): {}", name, attempt, created.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * std::min(attempt, 5)));
    }
  }

  // Removes a named volume (gone already is fine). A volume still in use
  // (a container a killed hub was creating) loses that container first.
  Result<void> RemoveVolume(const std::string& name) {
    const auto give_up = Clock::now() + kSettle;
    for (;;) {
      auto r = api_.Json(verb::delete_, "/volumes/" + docker::UrlEncode(name) + "?force=1");
      if (r.ok() || r.error().code == "not_found") return Ok();
      if (r.error().code != "conflict" || Clock::now() >= give_up) return r.error();
      json::value filter = json::object{{"volume", json::array{json::string(name)}}};
      auto users = api_.Json(verb::get, "/containers/json?all=1&filters=" + docker::UrlEncode(json::serialize(filter)));
      if (users.ok() && users->is_array()) {
        for (const auto& c : users->as_array()) PG_RETURN_IF_ERROR(RemoveContainer(StringAt(c, {"Id"})));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
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
    keep(RemoveContainer(docker::ContainerName(id, "seed")));  // earlier versions seeded through one
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
    for (const auto& v : volumes) keep(RemoveVolume(v));
    // The host side: its file system unmounted and its image deleted, then
    // the directory. Kept while the named volume (or a mount) may still
    // reach it.
    const std::string vdir = docker::VolumeDir(config_, id);
    if (result.ok()) {
      auto unmounted = sandbox::DestroyQuotaVolume(vdir);
      keep(unmounted);
      if (unmounted.ok() && ::access(vdir.c_str(), F_OK) == 0) keep(RemoveTree(vdir));
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
  // The volume directories are mount points, recognised by their path in
  // /proc/self/mountinfo: no symlink in it.
  if (char* real = ::realpath(config.data_dir.c_str(), nullptr)) {
    config.data_dir = real;
    std::free(real);
  }
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
