// The sandbox's root: a small tmpfs holding mount points, read-only binds of
// the host's /usr (and /bin, /lib*, /sbin as binds or the host's usrmerge
// symlinks), a few /etc files, the caller's bind mounts, a private /tmp, a
// fresh /proc and a minimal /dev with its own devpts. The tmpfs is made
// read-only before pivot_root, so only /tmp and writable binds can be written.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "sandbox/internal.h"

namespace pg::sandbox::internal {
namespace {

// What of the host's / and /etc is shown, probed once per process.
struct HostEntry {
  std::string path;            // absolute host path
  enum { kDir, kFile, kLink } type;
  std::string link_target;     // kLink
};

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

const std::vector<HostEntry>& HostView() {
  static std::vector<HostEntry> view = [] {
    std::vector<HostEntry> out;
    auto add = [&](const std::string& path) {
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) return;
      HostEntry e{path, HostEntry::kFile, {}};
      if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
        if (n <= 0) return;
        e.type = HostEntry::kLink;
        e.link_target.assign(buf, n);
      } else if (S_ISDIR(st.st_mode)) {
        e.type = HostEntry::kDir;
      } else if (!S_ISREG(st.st_mode)) {
        return;
      }
      out.push_back(std::move(e));
    };
    for (const char* p : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) add(p);
    // /etc: only what programs need to run (no shadow, no host identity).
    static const char* kEtc[] = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl",
                                 "ca-certificates", "ca-certificates.conf", "localtime", "timezone",
                                 "nsswitch.conf", "mime.types", "protocols", "services", "gai.conf",
                                 "host.conf", "os-release", "debian_version", "inputrc", "bash.bashrc",
                                 "profile", "magic", "magic.mime", "papersize", "gitconfig", "npmrc",
                                 "pip.conf", "fpc.cfg", "mke2fs.conf"};
    for (const char* name : kEtc) add(std::string("/etc/") + name);
    // Language runtimes' configuration directories.
    if (DIR* d = opendir("/etc")) {
      while (struct dirent* de = readdir(d)) {
        std::string n = de->d_name;
        if (StartsWith(n, "python3") || StartsWith(n, "java-") || StartsWith(n, "fpc-") ||
            StartsWith(n, "gnucobol") || n == "perl" || n == "R" || n == "php" || StartsWith(n, "ruby") ||
            n == "fonts" || n == "dotnet")
          add("/etc/" + n);
      }
      closedir(d);
    }
    return out;
  }();
  return view;
}

// A directory of our own to mount the new root on (in the child's private
// mount namespace only, so one directory serves every launch).
Result<std::string> StageDir() {
  static std::mutex mu;
  static std::string dir;
  std::lock_guard<std::mutex> lock(mu);
  if (!dir.empty()) return dir;
  const char* base = getenv("TMPDIR");
  std::string path = std::string(base && *base == '/' ? base : "/tmp") + "/.pg-sandbox-" + std::to_string(geteuid());
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Error::FromErrno("sandbox: mkdir " + path, errno);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Error::FromErrno("sandbox: stat " + path, errno);
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
    return Error::Internal("sandbox: " + path + " is not a directory of ours");
  dir = path;
  return dir;
}

class Builder {
 public:
  Builder(Plan* plan, std::string stage) : plan_(plan), stage_(std::move(stage)) {}

  const char* At(const std::string& inside) { return plan_->Keep(stage_ + inside); }

  void Mkdir(const std::string& inside, unsigned mode = 0755) {
    if (inside.empty() || inside == "/" || made_.count(inside)) return;
    auto slash = inside.rfind('/');
    if (slash > 0) Mkdir(inside.substr(0, slash));
    made_.insert(inside);
    Push({MountStep::kMkdir, At(inside), nullptr, nullptr, 0, nullptr, 0, mode});
  }
  void Mkfile(const std::string& inside) {
    auto slash = inside.rfind('/');
    if (slash > 0) Mkdir(inside.substr(0, slash));
    Push({MountStep::kMkfile, At(inside), nullptr, nullptr, 0, nullptr, 0, 0644});
  }
  void Symlink(const std::string& target, const std::string& inside) {
    auto slash = inside.rfind('/');
    if (slash > 0) Mkdir(inside.substr(0, slash));
    Push({MountStep::kSymlink, plan_->Keep(target), At(inside)});
  }
  void Write(const std::string& inside, const std::string& data, unsigned mode = 0644) {
    const char* d = plan_->Keep(data);
    Push({MountStep::kWriteFile, At(inside), nullptr, nullptr, 0, d, data.size(), mode});
  }
  void Mount(const char* src, const std::string& inside, const char* fstype, unsigned long flags,
             const std::string& data = "") {
    Push({MountStep::kMount, src, At(inside), fstype, flags, data.empty() ? nullptr : plan_->Keep(data)});
  }
  void SetAttr(const std::string& inside, unsigned long attrs, bool recursive) {
    MountStep s{MountStep::kSetAttr, At(inside)};
    s.flags = attrs;
    s.recursive = recursive;
    Push(s);
  }
  // Bind of a host path (file or directory) at `inside`.
  void Bind(const std::string& host, const std::string& inside, bool dir, bool writable, bool noexec = false) {
    if (dir) {
      Mkdir(inside);
    } else {
      Mkfile(inside);
    }
    Mount(plan_->Keep(host), inside, nullptr, MS_BIND | MS_REC);
    SetAttr(inside, (writable ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                        (noexec ? MOUNT_ATTR_NOEXEC : 0),
            true);
  }

 private:
  void Push(MountStep s) { plan_->steps.push_back(s); }
  Plan* plan_;
  std::string stage_;
  std::set<std::string> made_;
};

bool IsNormalizedAbsolute(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() > 4096 || p.find('\0') != std::string::npos) return false;
  if (p == "/") return true;
  if (p.back() == '/') return false;
  size_t i = 1;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string c = p.substr(i, j - i);
    if (c.empty() || c == "." || c == "..") return false;
    i = j + 1;
  }
  return true;
}

}  // namespace

bool IsNormalizedPath(const std::string& p) { return IsNormalizedAbsolute(p); }

void PrimeMounts() {
  (void)HostView();
  (void)StageDir();
}

namespace {

bool Under(const std::string& p, const std::string& dir) { return p == dir || StartsWith(p, (dir + "/").c_str()); }

}  // namespace

Result<void> PlanMounts(const Spec& spec, const std::vector<CgroupBind>& cgroup_binds, Plan* plan) {
  PG_ASSIGN_OR_RETURN(std::string stage, StageDir());
  plan->stage = plan->Keep(stage);
  if (!IsNormalizedAbsolute(spec.cwd)) return Error::BadRequest("invalid_spec", "sandbox: cwd must be an absolute path");
  plan->cwd = plan->Keep(spec.cwd);
  Builder b(plan, stage);

  plan->steps.push_back({MountStep::kMount, nullptr, plan->Keep("/"), nullptr, MS_REC | MS_PRIVATE});
  const bool own_root = spec.rootfs.empty();
  if (own_root) {
    b.Mount("tmpfs", "", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m,nr_inodes=4096");
    for (const auto& e : HostView()) {
      if (e.type == HostEntry::kLink) {
        b.Symlink(e.link_target, e.path);
      } else {
        b.Bind(e.path, e.path, e.type == HostEntry::kDir, false);
      }
    }
    b.Mkdir("/etc");
    b.Write("/etc/passwd", PasswdFile());
    b.Write("/etc/group", GroupFile());
    b.Write("/etc/hosts", HostsFile(spec.hostname));
    b.Write("/etc/hostname", spec.hostname + "\n");
    b.Mkdir("/root", 0700);
  } else {
    struct stat st;
    if (!IsNormalizedAbsolute(spec.rootfs) || stat(spec.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Error::BadRequest("invalid_spec", "sandbox: rootfs " + spec.rootfs + " is not a directory");
    b.Mount(plan->Keep(spec.rootfs), "", nullptr, MS_BIND | MS_REC);
  }

  for (const auto& m : spec.mounts) {
    if (!IsNormalizedAbsolute(m.source) || !IsNormalizedAbsolute(m.target) || m.target == "/")
      return Error::BadRequest("invalid_spec", "sandbox: mount paths must be absolute and normalized: " + m.source +
                                                   " -> " + m.target);
    for (const char* reserved : {"/proc", "/dev", "/sys", "/etc", "/usr"})
      if (Under(m.target, reserved) && (own_root || std::string(reserved) == "/proc" || std::string(reserved) == "/dev"))
        return Error::BadRequest("invalid_spec", "sandbox: mount target " + m.target + " is reserved");
    struct stat st;
    if (stat(m.source.c_str(), &st) != 0)
      return Error::BadRequest("invalid_spec", "sandbox: mount source " + m.source + ": " + std::strerror(errno));
    b.Bind(m.source, m.target, S_ISDIR(st.st_mode), m.writable);
  }

  bool own_tmp = true;
  for (const auto& m : spec.mounts) own_tmp = own_tmp && m.target != "/tmp";
  if (own_tmp) {
    b.Mkdir("/tmp", 01777);
    int64_t size = spec.limits.tmp_size_bytes > 0 ? spec.limits.tmp_size_bytes : (64ll << 20);
    b.Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=" + std::to_string(size));
  }

  b.Mkdir("/proc", 0555);
  b.Mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);

  b.Mkdir("/dev");
  b.Mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64");
  for (const char* dev : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string path = std::string("/dev/") + dev;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
    b.Mkfile(path);
    b.Mount(plan->Keep(path), path, nullptr, MS_BIND);
    b.SetAttr(path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
  }
  b.Mkdir("/dev/pts");
  b.Mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  b.Symlink("pts/ptmx", "/dev/ptmx");
  b.Symlink("/proc/self/fd", "/dev/fd");
  b.Symlink("/proc/self/fd/0", "/dev/stdin");
  b.Symlink("/proc/self/fd/1", "/dev/stdout");
  b.Symlink("/proc/self/fd/2", "/dev/stderr");
  b.Symlink("/tmp", "/dev/shm");
  b.SetAttr("/dev", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);

  for (const auto& cb : cgroup_binds) {
    b.Mkdir(cb.target);
    b.Mount(plan->Keep(cb.source), cb.target, nullptr, MS_BIND);
    b.SetAttr(cb.target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
  }

  b.SetAttr("", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
  return Ok();
}

// ---- child side: raw system calls only ----

static bool Fail(ChildError* e, const char* what, const char* path) {
  e->what = what;
  e->path = path;
  e->err = errno;
  return false;
}

bool ApplyMounts(const Plan& plan, ChildError* e) {
  for (const MountStep& s : plan.steps) {
    switch (s.kind) {
      case MountStep::kMount:
        if (mount(s.a, s.b, s.fstype, s.flags, s.data) != 0) return Fail(e, "mount", s.b);
        break;
      case MountStep::kSetAttr: {
        struct mount_attr attr = {};
        attr.attr_set = s.flags;
        if (syscall(SYS_mount_setattr, AT_FDCWD, s.a, s.recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) != 0)
          return Fail(e, "mount_setattr", s.a);
        break;
      }
      case MountStep::kMkdir:
        if (mkdir(s.a, s.mode) != 0 && errno != EEXIST) return Fail(e, "mkdir", s.a);
        break;
      case MountStep::kMkfile: {
        int fd = open(s.a, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, s.mode);
        if (fd < 0) return Fail(e, "create mount point", s.a);
        close(fd);
        break;
      }
      case MountStep::kSymlink:
        if (symlink(s.a, s.b) != 0 && errno != EEXIST) return Fail(e, "symlink", s.b);
        break;
      case MountStep::kWriteFile: {
        int fd = open(s.a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, s.mode);
        if (fd < 0) return Fail(e, "create", s.a);
        size_t off = 0;
        while (off < s.len) {
          ssize_t n = write(fd, s.data + off, s.len - off);
          if (n <= 0) {
            close(fd);
            return Fail(e, "write", s.a);
          }
          off += n;
        }
        close(fd);
        break;
      }
    }
  }
  if (chdir(plan.stage) != 0) return Fail(e, "chdir", plan.stage);
  if (syscall(SYS_pivot_root, ".", ".") != 0) return Fail(e, "pivot_root", plan.stage);
  if (umount2(".", MNT_DETACH) != 0) return Fail(e, "umount old root", "/");
  if (chdir("/") != 0 || chdir(plan.cwd) != 0) return Fail(e, "chdir", plan.cwd);
  return true;
}

}  // namespace pg::sandbox::internal
