// Cgroups for limits and accounting, on v2, v1 and the v1+v2 hybrid.
//
// Layout: read from /proc/self/mountinfo. The v1 controllers we use
// (memory, pids, cpu, cpuacct) are taken from their v1 mounts when there
// are any (v1 and hybrid hosts, including a hybrid whose cgroup2 mount holds
// no controller, as on hosts with /sys/fs/cgroup/unified); otherwise from
// the unified hierarchy when it offers memory and pids (v2). Cgroup names are
// relative to the mount point of each hierarchy, which inside a nesting
// sandbox is the delegated subtree bound there. $PG_SANDBOX_CGROUPS=off
// forces the rlimit-only mode (for tests of that mode).
//
// Limits: memory (v1 memory.limit_in_bytes + memory.memsw.limit_in_bytes
// when swap accounting exists, else swappiness 0; v2 memory.max +
// memory.swap.max 0), pids.max, cpu quota (v1 cfs_quota_us, v2 cpu.max).
// Accounting: cpuacct.usage / cpu.stat usage_usec, memory.max_usage_in_bytes
// / memory.peak, oom_kill in memory.oom_control / memory.events, "max" in
// pids.events.
//
// Delegation (allow_nesting): the cgroup directory and the files needed to
// create children and move processes are chowned to the tree's host uid; the
// limit files of the cgroup itself are not. On v2 the tree lives in the leaf
// "<name>/init" so the cgroup can enable controllers for its children.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "sandbox/internal.h"

namespace pg::sandbox::internal {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out->append(buf, n);
  close(fd);
  return n == 0;
}

Result<void> WriteFile(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("sandbox: open " + path, errno);
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) return Error::FromErrno("sandbox: write " + value + " to " + path, err);
  return Ok();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

int64_t ReadInt(const std::string& path) {
  std::string s;
  if (!ReadFile(path, &s)) return -1;
  return std::strtoll(s.c_str(), nullptr, 10);
}

// "key value" lines (memory.events, cpu.stat, pids.events, oom_control).
int64_t ReadKey(const std::string& path, const std::string& key) {
  std::string s;
  if (!ReadFile(path, &s)) return -1;
  std::istringstream in(s);
  std::string k;
  int64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return -1;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* de = readdir(d)) {
      if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) out.push_back(de->d_name);
    }
    closedir(d);
  }
  return out;
}

CgroupLayout Detect() {
  CgroupLayout l;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string v2;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash)), post(line.substr(dash + 3));
    std::string id, parent, dev, root, mp, fstype, source, opts;
    pre >> id >> parent >> dev >> root >> mp;
    post >> fstype >> source >> opts;
    if (fstype == "cgroup2") {
      if (v2.empty()) v2 = mp;
    } else if (fstype == "cgroup") {
      for (const auto& o : Split(opts, ',')) {
        if (o == "memory" || o == "pids" || o == "cpu" || o == "cpuacct") {
          bool seen = false;
          for (auto& [c, p] : l.v1) seen = seen || c == o;
          if (!seen) l.v1.push_back({o, mp});
        }
      }
    }
  }
  std::string controllers;
  bool v2_has = !v2.empty() && ReadFile(v2 + "/cgroup.controllers", &controllers) &&
                controllers.find("memory") != std::string::npos && controllers.find("pids") != std::string::npos;
  bool v1_has = false;
  for (auto& [c, p] : l.v1) v1_has = v1_has || c == "memory";
  if (v1_has) {
    l.mode = v2.empty() ? "v1" : "hybrid";
  } else if (v2_has) {
    l.mode = "v2";
    l.v2_root = v2;
    l.v1.clear();
  } else {
    l.mode = "none";
    l.why_not = "no memory controller mounted";
    return l;
  }
  const char* env = std::getenv("PG_SANDBOX_CGROUPS");
  if (env && std::string(env) == "off") {
    l.why_not = "disabled by PG_SANDBOX_CGROUPS=off";
    return l;
  }
  std::vector<std::string> roots;
  if (l.mode == "v2") {
    roots.push_back(l.v2_root);
  } else {
    bool mem = false, pids = false;
    for (auto& [c, p] : l.v1) {
      roots.push_back(p);
      mem = mem || c == "memory";
      pids = pids || c == "pids";
    }
    if (!mem || !pids) {
      l.why_not = "memory or pids controller missing";
      return l;
    }
  }
  for (const auto& r : roots) {
    if (access(r.c_str(), W_OK) != 0) {
      l.why_not = "no write access to " + r + " (rootless, not delegated)";
      return l;
    }
  }
  l.usable = true;
  return l;
}

Result<void> MakeDirs(const std::string& root, const std::string& name) {
  std::string path = root;
  for (const auto& c : Split(name, '/')) {
    path += "/" + c;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("sandbox: mkdir " + path, errno);
  }
  return Ok();
}

// Every pid in `dir` and below.
void CollectPids(const std::string& dir, std::vector<pid_t>* out) {
  std::string s;
  if (ReadFile(dir + "/cgroup.procs", &s)) {
    std::istringstream in(s);
    pid_t p;
    while (in >> p) out->push_back(p);
  }
  for (const auto& sub : SubDirs(dir)) CollectPids(dir + "/" + sub, out);
}

Result<void> RemoveDirs(const std::string& dir) {
  for (const auto& sub : SubDirs(dir)) PG_RETURN_IF_ERROR(RemoveDirs(dir + "/" + sub));
  for (int i = 0; i < 200; ++i) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return Ok();
    if (errno != EBUSY) return Error::FromErrno("sandbox: rmdir " + dir, errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Error::FromErrno("sandbox: rmdir " + dir, EBUSY);
}

}  // namespace

const CgroupLayout& Layout() {
  static CgroupLayout layout = Detect();
  return layout;
}

Result<void> ValidateCgroupName(const std::string& name) {
  if (name.empty() || name.size() > 512) return Error::BadRequest("invalid_cgroup", "sandbox: bad cgroup name");
  for (const auto& c : Split(name, '/')) {
    if (c.empty() || c == "." || c == "..")
      return Error::BadRequest("invalid_cgroup", "sandbox: bad cgroup name " + name);
    for (char ch : c)
      if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
        return Error::BadRequest("invalid_cgroup", "sandbox: bad cgroup name " + name);
  }
  return Ok();
}

std::unique_ptr<Cgroup> Cgroup::Existing(const std::string& name) {
  auto cg = std::make_unique<Cgroup>();
  cg->name_ = name;
  const auto& l = Layout();
  if (l.mode == "v2") {
    cg->v2_dir_ = l.v2_root + "/" + name;
    cg->dirs_.push_back(cg->v2_dir_);
    return cg;
  }
  for (const auto& [c, mp] : l.v1) {
    std::string dir = mp + "/" + name;
    bool dup = false;
    for (const auto& d : cg->dirs_) dup = dup || d == dir;
    if (!dup) cg->dirs_.push_back(dir);
    if (c == "memory") cg->memory_dir_ = dir;
    if (c == "pids") cg->pids_dir_ = dir;
    if (c == "cpuacct") cg->cpuacct_dir_ = dir;
  }
  return cg;
}

Result<std::unique_ptr<Cgroup>> Cgroup::Create(const std::string& name, const Limits& limits, bool delegate, uid_t uid,
                                               gid_t gid) {
  PG_RETURN_IF_ERROR(ValidateCgroupName(name));
  const auto& l = Layout();
  if (!l.usable) return Error::Internal("sandbox: cgroups unavailable: " + l.why_not);
  auto cg = Existing(name);
  if (l.mode == "v2") {
    // Enable our controllers from the root down to the cgroup's parent (and
    // in the cgroup itself when it is delegated).
    std::string path = l.v2_root;
    auto parts = Split(name, '/');
    for (size_t i = 0; i <= parts.size(); ++i) {
      if (i == parts.size() && !delegate) break;
      for (const char* c : {"+memory", "+pids", "+cpu"}) (void)WriteFile(path + "/cgroup.subtree_control", c);
      if (i < parts.size()) {
        path += "/" + parts[i];
        if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("sandbox: mkdir " + path, errno);
      }
    }
    const std::string& d = cg->v2_dir_;
    PG_RETURN_IF_ERROR(cg->SetLimits(limits));
    if (delegate) {
      std::string init = d + "/init";
      if (mkdir(init.c_str(), 0755) != 0 && errno != EEXIST) return Error::FromErrno("sandbox: mkdir " + init, errno);
      for (const std::string& f : {d, d + "/cgroup.procs", d + "/cgroup.subtree_control", d + "/cgroup.threads", init,
                                   init + "/cgroup.procs", init + "/cgroup.threads"})
        if (chown(f.c_str(), uid, gid) != 0 && errno != ENOENT) return Error::FromErrno("sandbox: chown " + f, errno);
    }
    cg->dirs_ = {d};
    return cg;
  }
  for (const auto& [c, mp] : l.v1) PG_RETURN_IF_ERROR(MakeDirs(mp, name));
  PG_RETURN_IF_ERROR(cg->SetLimits(limits));
  if (delegate) {
    for (const auto& d : cg->dirs_)
      for (const std::string& f : {d, d + "/cgroup.procs", d + "/tasks"})
        if (chown(f.c_str(), uid, gid) != 0) return Error::FromErrno("sandbox: chown " + f, errno);
  }
  return cg;
}

Result<void> Cgroup::SetLimits(const Limits& limits) const {
  if (!v2_dir_.empty()) {
    const std::string& d = v2_dir_;
    if (limits.memory_bytes > 0) {
      PG_RETURN_IF_ERROR(WriteFile(d + "/memory.max", std::to_string(limits.memory_bytes)));
      if (Exists(d + "/memory.swap.max")) PG_RETURN_IF_ERROR(WriteFile(d + "/memory.swap.max", "0"));
    }
    if (limits.pids > 0) PG_RETURN_IF_ERROR(WriteFile(d + "/pids.max", std::to_string(limits.pids)));
    if (limits.cpu_quota_millis > 0 && Exists(d + "/cpu.max"))
      PG_RETURN_IF_ERROR(WriteFile(d + "/cpu.max", std::to_string(limits.cpu_quota_millis * 100) + " 100000"));
    return Ok();
  }
  if (limits.memory_bytes > 0) {
    const std::string& d = memory_dir_;
    const std::string v = std::to_string(limits.memory_bytes);
    bool memsw = Exists(d + "/memory.memsw.limit_in_bytes");
    if (memsw) (void)WriteFile(d + "/memory.memsw.limit_in_bytes", "-1");
    PG_RETURN_IF_ERROR(WriteFile(d + "/memory.limit_in_bytes", v));
    if (memsw) {
      PG_RETURN_IF_ERROR(WriteFile(d + "/memory.memsw.limit_in_bytes", v));
    } else {
      (void)WriteFile(d + "/memory.swappiness", "0");
    }
  }
  if (limits.pids > 0) PG_RETURN_IF_ERROR(WriteFile(pids_dir_ + "/pids.max", std::to_string(limits.pids)));
  for (const auto& [c, mp] : Layout().v1) {
    if (c == "cpu" && limits.cpu_quota_millis > 0) {
      std::string d = mp + "/" + name_;
      PG_RETURN_IF_ERROR(WriteFile(d + "/cpu.cfs_period_us", "100000"));
      PG_RETURN_IF_ERROR(WriteFile(d + "/cpu.cfs_quota_us", std::to_string(limits.cpu_quota_millis * 100)));
    }
  }
  return Ok();
}

Result<std::vector<int>> Cgroup::OpenProcs() const {
  std::vector<int> fds;
  for (const auto& d : dirs_) {
    std::string f = d + "/cgroup.procs";
    if (!v2_dir_.empty() && Exists(d + "/init")) f = d + "/init/cgroup.procs";
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      for (int x : fds) close(x);
      return Error::FromErrno("sandbox: open " + f, err);
    }
    fds.push_back(fd);
  }
  return fds;
}

int Cgroup::OpenCpuUsage(bool* usec) const {
  *usec = !v2_dir_.empty();
  std::string f = v2_dir_.empty() ? cpuacct_dir_ + "/cpuacct.usage" : v2_dir_ + "/cpu.stat";
  if (v2_dir_.empty() && cpuacct_dir_.empty()) return -1;
  return open(f.c_str(), O_RDONLY | O_CLOEXEC);
}

std::vector<CgroupBind> Cgroup::DelegatedBinds() const {
  if (!v2_dir_.empty()) return {{v2_dir_, "/sys/fs/cgroup"}};
  std::vector<CgroupBind> out;
  for (const auto& [c, mp] : Layout().v1) out.push_back({mp + "/" + name_, "/sys/fs/cgroup/" + c});
  return out;
}

void Cgroup::Fill(Outcome* out) const {
  if (!v2_dir_.empty()) {
    int64_t usec = ReadKey(v2_dir_ + "/cpu.stat", "usage_usec");
    if (usec >= 0) out->cpu_ms = usec / 1000;
    int64_t peak = ReadInt(v2_dir_ + "/memory.peak");
    if (peak > 0) out->peak_memory_kb = peak / 1024;
    out->memory_exceeded = out->memory_exceeded || ReadKey(v2_dir_ + "/memory.events", "oom_kill") > 0;
    out->pids_exceeded = out->pids_exceeded || ReadKey(v2_dir_ + "/pids.events", "max") > 0;
    return;
  }
  if (!cpuacct_dir_.empty()) {
    int64_t ns = ReadInt(cpuacct_dir_ + "/cpuacct.usage");
    if (ns >= 0) out->cpu_ms = ns / 1000000;
  }
  if (!memory_dir_.empty()) {
    int64_t peak = ReadInt(memory_dir_ + "/memory.max_usage_in_bytes");
    int64_t sw = ReadInt(memory_dir_ + "/memory.memsw.max_usage_in_bytes");
    if (sw > peak) peak = sw;
    if (peak > 0) out->peak_memory_kb = peak / 1024;
    out->memory_exceeded = out->memory_exceeded || ReadKey(memory_dir_ + "/memory.oom_control", "oom_kill") > 0;
  }
  if (!pids_dir_.empty()) out->pids_exceeded = out->pids_exceeded || ReadKey(pids_dir_ + "/pids.events", "max") > 0;
}

bool Cgroup::Populated() const {
  if (!v2_dir_.empty()) return ReadKey(v2_dir_ + "/cgroup.events", "populated") > 0;
  std::vector<pid_t> pids;
  for (const auto& d : dirs_) CollectPids(d, &pids);
  return !pids.empty();
}

void Cgroup::KillAll() const {
  if (!v2_dir_.empty() && Exists(v2_dir_ + "/cgroup.kill")) {
    (void)WriteFile(v2_dir_ + "/cgroup.kill", "1");
    return;
  }
  for (int pass = 0; pass < 100; ++pass) {
    std::vector<pid_t> pids;
    for (const auto& d : dirs_) CollectPids(d, &pids);
    if (pids.empty()) return;
    for (pid_t p : pids) kill(p, SIGKILL);
    if (pass > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Cgroup::SignalAll(int sig) const {
  std::vector<pid_t> pids;
  for (const auto& d : dirs_) CollectPids(d, &pids);
  for (pid_t p : pids) kill(p, sig);
}

Result<void> Cgroup::Destroy() const {
  KillAll();
  for (int i = 0; i < 500 && Populated(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (const auto& d : dirs_) PG_RETURN_IF_ERROR(RemoveDirs(d));
  return Ok();
}

}  // namespace pg::sandbox::internal

namespace pg::sandbox {

Result<void> DestroyCgroup(const std::string& cgroup) {
  PG_RETURN_IF_ERROR(internal::ValidateCgroupName(cgroup));
  if (!internal::Layout().usable) return Ok();
  return internal::Cgroup::Existing(cgroup)->Destroy();
}

std::vector<std::string> ListCgroups(const std::string& parent) {
  if (!internal::ValidateCgroupName(parent).ok() || !internal::Layout().usable) return {};
  const auto& l = internal::Layout();
  std::string dir = l.mode == "v2" ? l.v2_root + "/" + parent : std::string();
  if (dir.empty())
    for (const auto& [c, mp] : l.v1)
      if (c == "memory") dir = mp + "/" + parent;
  return internal::SubDirs(dir);
}

}  // namespace pg::sandbox
