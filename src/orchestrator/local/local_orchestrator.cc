#include "orchestrator/local/local_orchestrator.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <sstream>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "common/crypto.h"
#include "common/fs.h"
#include "orchestrator/templates.h"
#include "sandbox/quota.h"
#include "sandbox/sandbox.h"

namespace pg::orchestrator {
namespace {

constexpr const char* kBinaryInside = "/opt/playground/playground";
constexpr const char* kRunInside = "/run/playground";

// Host uid of a playground's containers: stable per id, unprivileged, and
// different between playgrounds.
bool IsEmptyDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

uid_t UidFor(const std::string& id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  return 200000 + (h % 800000);
}

struct Container {
  std::string role;  // "workspace" | "runner"
  std::unique_ptr<sandbox::Process> proc;
  int backoff_ms = 100;
  Clock::time_point restart_at{};
  bool restart_pending = false;
};

struct Instance {
  PlaygroundSpec spec;
  uid_t uid = 0;
  // Where its volume and run directory are now: <data>/volumes/<id> and
  // <data>/run/<id>, or the hidden ".<id>" names while it is a warm slot.
  std::string vol_dir, run_dir;
  bool want_running = false;
  int restarts = 0;
  Container workspace{"workspace"};
  Container runner{"runner"};
  std::string detail;
};

class LocalOrchestrator final : public Orchestrator {
 public:
  explicit LocalOrchestrator(LocalConfig cfg) : cfg_(std::move(cfg)), cgroup_parent_(LocalCgroupParent(cfg_.data_dir)) {
    ::mkdir((cfg_.data_dir + "/volumes").c_str(), 0711);
    ::mkdir((cfg_.data_dir + "/run").c_str(), 0711);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    RemoveStaleSlots();
    if (cfg_.supervise) supervisor_ = std::thread([this] { Supervise(); });
    if (cfg_.warm_pool > 0) {
      // Moving a warm volume's mount into place (MS_MOVE) needs a parent
      // mount that is not shared: give <data>/volumes its own private mount.
      if (geteuid() == 0) PrivateMount(cfg_.data_dir + "/volumes");
      pool_thread_ = std::thread([this] { RefillPool(); });
    }
  }

  ~LocalOrchestrator() override {
    Shutdown();
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  std::string Name() const override { return "local"; }

  std::string TakeWarmSlot(const Limits& limits) override {
    if (cfg_.warm_pool <= 0 || !SameLimits(limits, Limits{})) return "";
    std::lock_guard lock(mu_);
    if (stopping_ || pool_.empty()) return "";
    std::string id = pool_.front();
    pool_.pop_front();
    reserved_.insert(id);
    starting_.insert(id);
    last_take_ = Clock::now();
    return id;
  }

  Result<void> CreateVolume(const PlaygroundSpec& spec, const RecordFn& record) override {
    (void)record;
    const TemplateFiles* files = FindTemplate(spec.template_name);
    if (!files) return Error::BadRequest("invalid_value", "unknown template " + spec.template_name);
    uid_t uid = UidOf(spec);
    std::string vol = VolumeDir(spec.id);
    std::string run = RunDir(spec.id);
    // Nothing needs recording: paths, uid and cgroups all derive from the id
    // (a warm slot was made under its final id), so each create costs the
    // registry no more than its own rows.
    auto claimed = ClaimSlot(spec);
    if (!claimed.ok()) spdlog::warn("playground {}: warm slot not used: {}", spec.id, claimed.error().message);
    bool fresh = ::mkdir(vol.c_str(), 0700) == 0;
    if (!fresh && errno != EEXIST) return Error::FromErrno("mkdir " + vol, errno);
    if (::mkdir(run.c_str(), 0711) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + run, errno);
    std::string sock = SockDir(spec.id);
    if (::mkdir(sock.c_str(), 0700) != 0 && errno != EEXIST) return Error::FromErrno("mkdir " + sock, errno);
    if (chown(sock.c_str(), uid, uid) != 0 && geteuid() == 0) return Error::FromErrno("chown " + sock, errno);
    // The marker says the template was written. Until it exists, a retry
    // (after a hub killed mid-create) writes it again; files already there
    // (each written atomically) are kept.
    const std::string marker = run + "/volume-complete";
    bool complete = !fresh && FileExists(marker);
    if (!complete && geteuid() == 0 && chown(vol.c_str(), uid, uid) != 0) return Error::FromErrno("chown " + vol, errno);
    if (!sandbox::IsQuotaVolume(vol) && (FileExists(vol + ".ext4") || IsEmptyDir(vol))) {
      // The disk quota: the volume becomes its own ext4 file system (an
      // existing image is mounted again with its data).
      auto q = sandbox::CreateQuotaVolume(vol, spec.limits.disk_mb << 20);
      if (!q.ok()) return Error::Make("volume_failed", "disk quota: " + q.error().message, 500);
      if (!q->enforced) spdlog::warn("playground {}: no disk quota: {}", spec.id, q->detail);
    }
    if (!complete) {
      int fd = open(vol.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return Error::FromErrno("open " + vol, errno);
      UniqueFd root(fd);
      for (const auto& [path, content] : *files) {
        if (faccessat(root.get(), path.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) continue;
        PG_RETURN_IF_ERROR(WriteFileBeneath(root.get(), path, content, /*durable=*/false));
        if (geteuid() == 0) fchownat(root.get(), path.c_str(), uid, uid, AT_SYMLINK_NOFOLLOW);
      }
      if (geteuid() == 0 && chown(vol.c_str(), uid, uid) != 0) return Error::FromErrno("chown " + vol, errno);
      int run_fd = open(run.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (run_fd < 0) return Error::FromErrno("open " + run, errno);
      UniqueFd run_root(run_fd);
      // Not fsynced, like the template files: a killed hub loses neither.
      PG_RETURN_IF_ERROR(WriteFileBeneath(run_root.get(), "volume-complete", "", /*durable=*/false));
    }
    return Ok();
  }

  Result<Backends> Start(const PlaygroundSpec& spec, const RecordFn& record, Clock::time_point deadline) override {
    (void)record;
    std::shared_ptr<Instance> inst;
    {
      std::lock_guard lock(mu_);
      auto& slot = instances_[spec.id];
      if (!slot) slot = std::make_shared<Instance>();
      inst = slot;
      inst->spec = spec;
      inst->uid = UidOf(spec);
      inst->vol_dir = VolumeDir(spec.id);
      inst->run_dir = RunDir(spec.id);
      inst->want_running = true;
      for (Container* c : {&inst->workspace, &inst->runner}) {
        if (c->proc) continue;
        auto r = LaunchContainer(*inst, *c);
        if (!r.ok()) {
          inst->want_running = false;
          KillLocked(*inst);
          return r.error();
        }
      }
    }
    Wake();
    Backends b = BackendsFor(spec.id);
    auto ready = WaitReady(b, deadline);
    {
      std::lock_guard lock(mu_);
      if (starting_.erase(spec.id)) pool_cv_.notify_all();
    }
    if (!ready.ok()) {
      std::lock_guard lock(mu_);
      inst->want_running = false;
      KillLocked(*inst);
      return Error::Make("not_ready", ready.error().message + LogTail(spec.id), 503);
    }
    return b;
  }

  Result<void> Stop(const PlaygroundSpec& spec) override { return StopTrees(spec, /*graceful=*/true); }

  // Stops both trees; `graceful`: SIGTERM first (the workspace server
  // flushes open documents), else SIGKILL at once (their volume goes too).
  Result<void> StopTrees(const PlaygroundSpec& spec, bool graceful) {
    std::shared_ptr<Instance> inst;
    {
      std::lock_guard lock(mu_);
      auto it = instances_.find(spec.id);
      if (it != instances_.end()) inst = it->second;
    }
    if (inst) {
      std::unique_ptr<sandbox::Process> ws, run;
      {
        std::lock_guard lock(mu_);
        inst->want_running = false;
        ws = std::move(inst->workspace.proc);
        run = std::move(inst->runner.proc);
        inst->workspace.restart_pending = inst->runner.restart_pending = false;
      }
      Wake();
      for (auto* p : {ws.get(), run.get()}) {
        if (p) p->Signal(graceful ? SIGTERM : SIGKILL);
      }
      for (auto* p : {ws.get(), run.get()}) {
        if (!p) continue;
        struct pollfd pfd{p->pidfd(), POLLIN, 0};
        if (graceful && poll(&pfd, 1, 3000) <= 0) p->Kill();
        p->Kill();
        (void)p->Wait();
      }
    }
    // Whatever is left in the playground's cgroups (adopted trees, strays).
    (void)sandbox::DestroyCgroup(CgroupOf(spec.id, "workspace"));
    (void)sandbox::DestroyCgroup(CgroupOf(spec.id, "runner"));
    unlink((RunDir(spec.id) + "/workspace.pid").c_str());
    unlink((RunDir(spec.id) + "/runner.pid").c_str());
    return Ok();
  }

  Result<void> Destroy(const PlaygroundSpec& spec) override {
    PG_RETURN_IF_ERROR(StopTrees(spec, /*graceful=*/false));
    {
      std::lock_guard lock(mu_);
      instances_.erase(spec.id);
    }
    return DestroyOrphan(spec.id);
  }

  Result<Backends> Adopt(const PlaygroundSpec& spec, Clock::time_point deadline) override {
    {
      std::lock_guard lock(mu_);
      auto& slot = instances_[spec.id];
      if (!slot) slot = std::make_shared<Instance>();
      slot->spec = spec;
      slot->uid = UidOf(spec);
      slot->vol_dir = VolumeDir(spec.id);
      slot->run_dir = RunDir(spec.id);
      for (Container* c : {&slot->workspace, &slot->runner}) {
        if (c->proc) continue;
        pid_t pid = ReadPid(spec.id, c->role);
        if (pid <= 0) continue;
        auto attached = sandbox::Attach(pid, CgroupOf(spec.id, c->role));
        if (attached.ok()) {
          c->proc = std::move(attached).value();
          spdlog::info("adopted {} container of {} (pid {})", c->role, spec.id, pid);
        }
      }
    }
    // Whatever is not running any more is started again.
    return Start(spec, nullptr, deadline);
  }

  Result<std::vector<std::string>> ListOwned() override {
    std::set<std::string> ids;
    for (const char* sub : {"/volumes", "/run"}) {
      DIR* d = opendir((cfg_.data_dir + sub).c_str());
      if (!d) continue;
      while (struct dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::string name = e->d_name;
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".ext4") == 0) name.resize(name.size() - 5);
        ids.insert(name);
      }
      closedir(d);
    }
    {
      std::lock_guard lock(mu_);
      for (const auto& c : sandbox::ListCgroups(cgroup_parent_))
        if (!pool_set_.count(c) && !reserved_.count(c)) ids.insert(c);
    }
    return std::vector<std::string>(ids.begin(), ids.end());
  }

  Result<void> DestroyOrphan(const std::string& id) override {
    if (id.empty() || id.find('/') != std::string::npos || id[0] == '.')
      return Error::BadRequest("invalid_value", "bad id");
    bool unclaimed_slot;
    {
      std::lock_guard lock(mu_);
      unclaimed_slot = pool_set_.count(id) > 0;
    }
    if (unclaimed_slot) DestroySlot(id);
    {
      std::lock_guard lock(mu_);
      ForgetLocked(id);
    }
    auto cg = sandbox::DestroyCgroup(cgroup_parent_ + "/" + id);
    if (!cg.ok()) return cg;
    PG_RETURN_IF_ERROR(sandbox::DestroyQuotaVolume(VolumeDir(id)));
    PG_RETURN_IF_ERROR(RemoveTree(RunDir(id)));
    PG_RETURN_IF_ERROR(RemoveTree(VolumeDir(id)));
    return Ok();
  }

  Health Status(const std::string& id) override {
    Health h;
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return h;
    h.workspace_up = it->second->workspace.proc != nullptr;
    h.runner_up = it->second->runner.proc != nullptr;
    h.restarts = it->second->restarts;
    h.detail = sandbox::HostCapabilities().detail;
    return h;
  }

  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    pool_cv_.notify_all();
    if (pool_thread_.joinable()) pool_thread_.join();
    // Warm slots die with the hub (a next hub would remove them anyway).
    std::vector<std::string> slots;
    {
      std::lock_guard lock(mu_);
      slots.assign(pool_set_.begin(), pool_set_.end());
      slots.insert(slots.end(), reserved_.begin(), reserved_.end());
    }
    for (const auto& id : slots) DestroySlot(id);
    {
      std::lock_guard lock(mu_);
      // Playgrounds keep running for the next hub to adopt: let go of the
      // handles without killing the trees.
      for (auto& [id, inst] : instances_) {
        (void)inst->workspace.proc.release();
        (void)inst->runner.proc.release();
      }
    }
    Wake();
    if (supervisor_.joinable()) supervisor_.join();
  }

 private:
  std::string VolumeDir(const std::string& id) const { return cfg_.data_dir + "/volumes/" + id; }
  std::string RunDir(const std::string& id) const { return cfg_.data_dir + "/run/" + id; }
  std::string SockDir(const std::string& id) const { return RunDir(id) + "/sock"; }
  std::string CgroupOf(const std::string& id, const std::string& role) const {
    return cgroup_parent_ + "/" + id + "/" + role;
  }

  // The uid recorded at create (a warm slot's), else the one derived from the id.
  static uid_t UidOf(const PlaygroundSpec& spec) {
    auto it = spec.resources.find("uid");
    if (it != spec.resources.end()) {
      char* end = nullptr;
      unsigned long v = strtoul(it->second.c_str(), &end, 10);
      if (end && *end == '\0' && v >= 100000) return static_cast<uid_t>(v);
    }
    return UidFor(spec.id);
  }

  static bool SameLimits(const Limits& a, const Limits& b) {
    return a.memory_mb == b.memory_mb && a.cpu_millis == b.cpu_millis && a.pids == b.pids && a.disk_mb == b.disk_mb;
  }

  std::string SlotVolumeDir(const std::string& id) const { return cfg_.data_dir + "/volumes/." + id; }
  std::string SlotRunDir(const std::string& id) const { return cfg_.data_dir + "/run/." + id; }

  // Warm pool. A slot is a playground made ahead of time with default limits
  // and an empty volume, under hidden names (volumes/.<id>, run/.<id>) and
  // its final cgroup and uid. TakeWarmSlot hands its id to the hub, which
  // registers the playground under it; CreateVolume then moves the volume's
  // mount and the run directory to their real names (MS_MOVE, rename) and
  // writes the template, and Start finds both servers already answering.
  void RefillPool() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        // Refill when slots are missing (slots being made or ready; reserved
        // ones are the hub's now), but not while a create that took one is
        // still starting: on a small machine mkfs and two server start-ups
        // would compete with it for the CPU.
        auto want = [this] {
          return static_cast<int>(pool_set_.size() - reserved_.size()) < cfg_.warm_pool;
        };
        for (;;) {
          if (stopping_) return;
          auto quiet_at = last_take_ + std::chrono::milliseconds(starting_.empty() ? 20 : 2000);
          if (want() && Clock::now() >= quiet_at) break;
          if (want())
            pool_cv_.wait_until(lock, quiet_at);
          else
            pool_cv_.wait(lock);
        }
      }
      std::string id = NewPlaygroundId();
      auto made = MakeSlot(id);
      if (!made.ok()) {
        spdlog::warn("warm pool: cannot make a slot: {}", made.error().message);
        DestroySlot(id);
        std::unique_lock lock(mu_);
        pool_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
        if (stopping_) return;
        continue;
      }
      std::lock_guard lock(mu_);
      if (stopping_) return;  // Shutdown destroys it (it is in pool_set_)
      pool_.push_back(id);
    }
  }

  Result<void> MakeSlot(const std::string& id) {
    PlaygroundSpec spec;
    spec.id = id;
    uid_t uid = UidFor(id);
    std::string vol = SlotVolumeDir(id), run = SlotRunDir(id);
    {
      std::lock_guard lock(mu_);
      pool_set_.insert(id);
    }
    if (::mkdir(vol.c_str(), 0700) != 0) return Error::FromErrno("mkdir " + vol, errno);
    if (::mkdir(run.c_str(), 0711) != 0) return Error::FromErrno("mkdir " + run, errno);
    std::string sock = run + "/sock";
    if (::mkdir(sock.c_str(), 0700) != 0) return Error::FromErrno("mkdir " + sock, errno);
    if (geteuid() == 0) {
      if (chown(sock.c_str(), uid, uid) != 0) return Error::FromErrno("chown " + sock, errno);
      if (chown(vol.c_str(), uid, uid) != 0) return Error::FromErrno("chown " + vol, errno);
    }
    auto q = sandbox::CreateQuotaVolume(vol, spec.limits.disk_mb << 20);
    if (!q.ok()) return q.error();
    auto inst = std::make_shared<Instance>();
    inst->spec = spec;
    inst->uid = uid;
    inst->vol_dir = vol;
    inst->run_dir = run;
    inst->want_running = true;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return Error::Internal("shutting down");
      instances_[id] = inst;
      for (Container* c : {&inst->workspace, &inst->runner}) PG_RETURN_IF_ERROR(LaunchContainer(*inst, *c));
    }
    Wake();
    Backends b{Endpoint::Unix(sock + "/workspace.sock"), Endpoint::Unix(sock + "/runner.sock")};
    return WaitReady(b, Clock::now() + std::chrono::seconds(30));
  }

  // Moves the slot reserved for spec.id (if any) to its real names. On
  // failure the slot is destroyed and the caller creates the playground cold.
  Result<void> ClaimSlot(const PlaygroundSpec& spec) {
    const std::string& id = spec.id;
    {
      std::lock_guard lock(mu_);
      if (!reserved_.count(id)) return Ok();
    }
    std::string from_vol = SlotVolumeDir(id), to_vol = VolumeDir(id);
    std::string from_run = SlotRunDir(id), to_run = RunDir(id);
    Result<void> moved = Ok();
    {
      std::lock_guard lock(mu_);
      auto it = instances_.find(id);
      if (it == instances_.end()) {
        moved = Error::Internal("slot has no containers");
      } else if (::mkdir(to_vol.c_str(), 0700) != 0) {
        moved = Error::FromErrno("mkdir " + to_vol, errno);
      } else if (sandbox::IsQuotaVolume(from_vol)) {
        if (mount(from_vol.c_str(), to_vol.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
          moved = Error::FromErrno("move mount " + from_vol, errno);
          rmdir(to_vol.c_str());
        } else if (rename((from_vol + ".ext4").c_str(), (to_vol + ".ext4").c_str()) != 0) {
          moved = Error::FromErrno("rename image of " + from_vol, errno);
        }
        rmdir(from_vol.c_str());
      } else {
        rmdir(to_vol.c_str());
        if (rename(from_vol.c_str(), to_vol.c_str()) != 0) moved = Error::FromErrno("rename " + from_vol, errno);
      }
      if (moved.ok() && rename(from_run.c_str(), to_run.c_str()) != 0) moved = Error::FromErrno("rename " + from_run, errno);
      if (moved.ok()) {
        auto& inst = *it->second;
        inst.spec = spec;
        inst.vol_dir = to_vol;
        inst.run_dir = to_run;
        reserved_.erase(id);
        pool_set_.erase(id);
      }
    }
    if (!moved.ok()) {
      DestroySlot(id);
      (void)RemoveTree(to_run);
    }
    return moved;
  }

  // Kills a slot's containers and removes all of it (hidden or already
  // partly moved to its real names).
  void DestroySlot(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      ForgetLocked(id);
      pool_set_.erase(id);
      reserved_.erase(id);
      starting_.erase(id);
      pool_.erase(std::remove(pool_.begin(), pool_.end(), id), pool_.end());
    }
    pool_cv_.notify_all();
    (void)sandbox::DestroyCgroup(cgroup_parent_ + "/" + id);
    (void)sandbox::DestroyQuotaVolume(SlotVolumeDir(id));
    (void)RemoveTree(SlotVolumeDir(id));
    (void)RemoveTree(SlotRunDir(id));
  }

  // Slots left by an earlier hub (killed, or stopped without Shutdown).
  void RemoveStaleSlots() {
    std::set<std::string> stale;
    for (const char* sub : {"/volumes", "/run"}) {
      DIR* d = opendir((cfg_.data_dir + sub).c_str());
      if (!d) continue;
      while (struct dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 2 || name[0] != '.' || name == "..") continue;
        name = name.substr(1);
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".ext4") == 0) name.resize(name.size() - 5);
        if (IsValidPlaygroundId(name)) stale.insert(name);
      }
      closedir(d);
    }
    for (const auto& id : stale) {
      spdlog::info("removing warm slot {} left by an earlier hub", id);
      // A slot whose volume was already moved to its real name belongs to a
      // registered playground: only its hidden leftovers go.
      if (!FileExists(VolumeDir(id)) && !FileExists(RunDir(id))) (void)sandbox::DestroyCgroup(cgroup_parent_ + "/" + id);
      (void)sandbox::DestroyQuotaVolume(SlotVolumeDir(id));
      (void)RemoveTree(SlotVolumeDir(id));
      (void)RemoveTree(SlotRunDir(id));
    }
  }

  // MS_MOVE refuses to move a mount whose parent mount is shared (systemd
  // makes / shared). Then `dir` gets a bind mount of its own, private.
  static void PrivateMount(const std::string& dir) {
    std::ifstream mi("/proc/self/mountinfo");
    std::string line, best_mp;
    bool best_shared = false;
    while (std::getline(mi, line)) {
      std::istringstream f(line);
      std::string a, b, c, root, mp, opts, field;
      f >> a >> b >> c >> root >> mp >> opts;
      bool shared = false;
      while (f >> field && field != "-") shared |= field.rfind("shared:", 0) == 0;
      bool covers = mp == "/" || dir == mp || dir.rfind(mp + "/", 0) == 0;
      if (covers && mp.size() >= best_mp.size()) {
        best_mp = mp;
        best_shared = shared;
      }
    }
    if (!best_shared || best_mp == dir) return;
    if (mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
      spdlog::warn("cannot give {} a private mount: {}", dir, strerror(errno));
  }

  Backends BackendsFor(const std::string& id) const {
    return Backends{Endpoint::Unix(SockDir(id) + "/workspace.sock"), Endpoint::Unix(SockDir(id) + "/runner.sock")};
  }

  pid_t ReadPid(const std::string& id, const std::string& role) const {
    std::ifstream f(RunDir(id) + "/" + role + ".pid");
    pid_t pid = 0;
    f >> pid;
    return pid;
  }

  std::string LogTail(const std::string& id) const {
    std::string out;
    for (const char* role : {"workspace", "runner"}) {
      std::ifstream f(RunDir(id) + "/" + role + ".log");
      std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (all.empty()) continue;
      if (all.size() > 400) all = all.substr(all.size() - 400);
      out += std::string("; ") + role + " log: " + all;
    }
    return out;
  }

  // Precondition: mu_ held.
  Result<void> LaunchContainer(Instance& inst, Container& c) {
    const auto& spec = inst.spec;
    uid_t uid = inst.uid;
    const std::string sock_dir = inst.run_dir + "/sock";
    sandbox::Spec s;
    s.argv = {kBinaryInside, c.role == "workspace" ? "workspace-server" : "runner-server", "--root", "/workspace",
              "--listen", std::string("unix:") + kRunInside + "/" + c.role + ".sock"};
    s.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/workspace", "LANG=C.UTF-8",
             "PLAYGROUND_ID=" + spec.id};
    s.cwd = "/workspace";
    s.mounts = {{inst.vol_dir, "/workspace", true},
                {sock_dir, kRunInside, true},
                {cfg_.binary, kBinaryInside, false}};
    s.limits.memory_bytes = spec.limits.memory_mb << 20;
    s.limits.pids = spec.limits.pids;
    s.limits.cpu_quota_millis = spec.limits.cpu_millis;
    s.limits.open_files = 4096;
    s.cgroup = CgroupOf(spec.id, c.role);
    s.allow_nesting = c.role == "runner";
    s.hostname = "playground-" + spec.id.substr(0, 8);
    s.host_uid = uid;
    s.host_gid = uid;
    std::string log = inst.run_dir + "/" + c.role + ".log";
    int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    UniqueFd logf(logfd);
    s.stdout_fd = logfd;
    s.stderr_fd = logfd;
    // A leftover socket from an earlier run would make readiness checks
    // connect to nothing; the server replaces it anyway.
    unlink((sock_dir + "/" + c.role + ".sock").c_str());
    auto proc = sandbox::Launch(s);
    if (!proc.ok()) {
      return Error::Make("start_failed", "cannot start the " + c.role + " container: " + proc.error().message, 500);
    }
    c.proc = std::move(proc).value();
    std::ofstream(inst.run_dir + "/" + c.role + ".pid") << c.proc->pid() << "\n";
    return Ok();
  }

  // Kills the trees of `id` (if any) and forgets them. Precondition: mu_ held.
  void ForgetLocked(const std::string& id) {
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    it->second->want_running = false;
    KillLocked(*it->second);
    instances_.erase(it);
  }

  // Precondition: mu_ held.
  void KillLocked(Instance& inst) {
    for (Container* c : {&inst.workspace, &inst.runner}) {
      c->restart_pending = false;
      if (c->proc) {
        c->proc->Kill();
        (void)c->proc->Wait();
        c->proc.reset();
      }
    }
  }

  void Wake() {
    uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
  }

  // Restarts crashed containers with exponential backoff (100 ms doubling
  // to 30 s); the count shows in Status().restarts.
  void Supervise() {
    for (;;) {
      std::vector<struct pollfd> fds;
      std::vector<std::pair<std::shared_ptr<Instance>, Container*>> owners;
      int timeout_ms = 1000;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        fds.push_back({wake_fd_, POLLIN, 0});
        owners.emplace_back(nullptr, nullptr);
        auto now = Clock::now();
        for (auto& [id, inst] : instances_) {
          for (Container* c : {&inst->workspace, &inst->runner}) {
            if (c->proc) {
              fds.push_back({c->proc->pidfd(), POLLIN, 0});
              owners.emplace_back(inst, c);
            } else if (c->restart_pending && inst->want_running) {
              if (c->restart_at <= now) {
                c->restart_pending = false;
                inst->restarts++;
                auto r = LaunchContainer(*inst, *c);
                spdlog::warn("restarted {} container of {} (restart {}): {}", c->role, id, inst->restarts,
                             r.ok() ? "ok" : r.error().message);
                if (!r.ok()) {
                  c->restart_pending = true;
                  c->backoff_ms = std::min(c->backoff_ms * 2, 30000);
                  c->restart_at = now + std::chrono::milliseconds(c->backoff_ms);
                }
                if (c->proc) {
                  fds.push_back({c->proc->pidfd(), POLLIN, 0});
                  owners.emplace_back(inst, c);
                }
              } else {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c->restart_at - now).count();
                timeout_ms = std::min<int>(timeout_ms, static_cast<int>(std::max<int64_t>(ms, 1)));
              }
            }
          }
        }
      }
      int n = poll(fds.data(), fds.size(), timeout_ms);
      if (n <= 0) continue;
      if (fds[0].revents & POLLIN) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof v);
      }
      std::lock_guard lock(mu_);
      if (stopping_) return;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto& [inst, c] = owners[i];
        if (!c->proc || c->proc->pidfd() != fds[i].fd) continue;  // replaced meanwhile
        auto outcome = c->proc->Wait();
        c->proc.reset();
        if (!inst->want_running) continue;
        spdlog::warn("{} container of {} exited ({}); restarting in {} ms", c->role, inst->spec.id,
                     outcome.ok() ? (outcome->signal ? "signal " + std::to_string(outcome->signal)
                                                     : "exit " + std::to_string(outcome->exit_code))
                                  : outcome.error().message,
                     c->backoff_ms);
        c->restart_pending = true;
        c->restart_at = Clock::now() + std::chrono::milliseconds(c->backoff_ms);
        c->backoff_ms = std::min(c->backoff_ms * 2, 30000);
      }
    }
  }

  LocalConfig cfg_;
  std::string cgroup_parent_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Instance>> instances_;
  std::deque<std::string> pool_;        // warm slots ready to take, oldest first
  std::set<std::string> pool_set_;      // every slot not yet claimed (making, ready or reserved)
  std::set<std::string> reserved_;      // taken by the hub, not yet claimed by CreateVolume
  std::set<std::string> starting_;      // taken by the hub, not yet answering as a playground
  Clock::time_point last_take_{};
  std::condition_variable pool_cv_;
  std::thread pool_thread_;
  bool stopping_ = false;
  int wake_fd_ = -1;
  std::thread supervisor_;
};

}  // namespace

std::string LocalCgroupParent(const std::string& data_dir) {
  return "playground/" + Sha256Hex(data_dir).substr(0, 12);
}

std::unique_ptr<Orchestrator> MakeLocalOrchestrator(const LocalConfig& config) {
  return std::make_unique<LocalOrchestrator>(config);
}

}  // namespace pg::orchestrator
