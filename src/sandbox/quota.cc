// Quota volumes: sparse ext4 image + loop device (LOOP_CONFIGURE with
// autoclear, so unmounting frees the device) mounted nosuid,nodev.
#include "sandbox/quota.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/fs.h"

extern char** environ;

namespace pg::sandbox {
namespace {

std::string ImageOf(const std::string& path) { return path + ".ext4"; }

// The image is formatted under this hidden name and renamed into place, so
// "<path>.ext4" only ever names a complete file system (a hub killed during
// mkfs leaves at most this file, which the next attempt replaces).
std::string TempImageOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".ext4.tmp";
}

// Runs argv (absolute argv[0]), returns its exit status; output discarded.
Result<int> RunTool(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::FromErrno("quota: spawn " + argv[0], rc);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return Error::FromErrno("quota: waitpid", errno);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string FindMkfs() {
  for (const char* p : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/sbin/mke2fs", "/sbin/mke2fs"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

// Attaches `image` to a free loop device; returns its path and sets *held
// to an open descriptor of it (autoclear would detach the device as soon as
// the last descriptor closes, so it must stay open until mounted).
Result<std::string> AttachLoop(const std::string& image, UniqueFd* held) {
  UniqueFd ctl(open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.valid()) return Error::FromErrno("quota: open /dev/loop-control", errno);
  UniqueFd img(open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!img.valid()) return Error::FromErrno("quota: open " + image, errno);
  for (int attempt = 0; attempt < 16; ++attempt) {
    int n = ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return Error::FromErrno("quota: LOOP_CTL_GET_FREE", errno);
    std::string dev = "/dev/loop" + std::to_string(n);
    UniqueFd loop(open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop.valid()) {
      // udev-less hosts: create the node ourselves.
      if (errno == ENOENT && mknod(dev.c_str(), S_IFBLK | 0660, makedev(7, n)) == 0)
        loop = UniqueFd(open(dev.c_str(), O_RDWR | O_CLOEXEC));
      if (!loop.valid()) return Error::FromErrno("quota: open " + dev, errno);
    }
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = img.get();
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) {
      *held = std::move(loop);
      return dev;
    }
    if (errno != EBUSY) return Error::FromErrno("quota: LOOP_CONFIGURE " + dev, errno);
  }
  return Error::Internal("quota: no free loop device");
}

}  // namespace

bool IsQuotaVolume(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mp;
    f >> id >> parent >> dev >> root >> mp;
    if (mp == path && line.find(" - ext4 /dev/loop") != std::string::npos) return true;
  }
  return false;
}

Result<QuotaStatus> CreateQuotaVolume(const std::string& path, int64_t bytes) {
  QuotaStatus status;
  if (path.empty() || path[0] != '/' || path.back() == '/')
    return Error::BadRequest("invalid_path", "quota: volume path must be absolute");
  if (bytes < (8ll << 20)) return Error::BadRequest("invalid_size", "quota: a volume needs at least 8 MiB");
  struct stat dir;
  if (stat(path.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode))
    return Error::BadRequest("invalid_path", "quota: " + path + " is not a directory");
  if (IsQuotaVolume(path)) {
    status.enforced = true;
    status.detail = "ext4 image " + ImageOf(path) + " already mounted";
    return status;
  }
  if (geteuid() != 0) {
    status.detail = "no disk quota: loop mounts need root";
    return status;
  }
  if (access("/dev/loop-control", F_OK) != 0) {
    status.detail = "no disk quota: no /dev/loop-control on this host";
    return status;
  }
  std::string mkfs = FindMkfs();
  const std::string image = ImageOf(path);
  bool fresh = access(image.c_str(), F_OK) != 0;
  if (fresh) {
    if (mkfs.empty()) {
      status.detail = "no disk quota: mkfs.ext4 (e2fsprogs) is not installed";
      return status;
    }
    const std::string tmp = TempImageOf(path);
    unlink(tmp.c_str());
    UniqueFd fd(open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return Error::FromErrno("quota: create " + tmp, errno);
    if (ftruncate(fd.get(), bytes) != 0) {
      int err = errno;
      unlink(tmp.c_str());
      return Error::FromErrno("quota: size " + tmp, err);
    }
    fd.reset();
    // No reserved blocks, no lazy init threads racing our first writes,
    // root owned by the directory's owner.
    std::string owner = std::to_string(dir.st_uid) + ":" + std::to_string(dir.st_gid);
    auto rc = RunTool({mkfs, "-q", "-F", "-t", "ext4", "-m", "0", "-E",
                       "root_owner=" + owner + ",nodiscard,lazy_itable_init=0,lazy_journal_init=0", "-L", "pgvolume",
                       tmp});
    if (!rc.ok() || *rc != 0) {
      unlink(tmp.c_str());
      if (!rc.ok()) return rc.error();
      return Error::Internal("quota: mkfs.ext4 failed with status " + std::to_string(*rc));
    }
    if (rename(tmp.c_str(), image.c_str()) != 0) {
      int err = errno;
      unlink(tmp.c_str());
      return Error::FromErrno("quota: rename " + tmp, err);
    }
  }
  UniqueFd loop;
  auto dev = AttachLoop(image, &loop);
  if (!dev.ok()) {
    if (fresh) unlink(image.c_str());
    if (dev.error().message.find("loop-control") != std::string::npos) {
      status.detail = "no disk quota: " + dev.error().message;
      return status;
    }
    return dev.error();
  }
  if (mount(dev->c_str(), path.c_str(), "ext4", MS_NOSUID | MS_NODEV, "errors=remount-ro") != 0) {
    int err = errno;
    ioctl(loop.get(), LOOP_CLR_FD, 0);
    if (fresh) unlink(image.c_str());
    return Error::FromErrno("quota: mount " + *dev + " on " + path, err);
  }
  if (fresh) {
    rmdir((path + "/lost+found").c_str());
    chmod(path.c_str(), dir.st_mode & 07777);
  }
  status.enforced = true;
  status.detail = "ext4 image " + image + " on " + *dev + ", " + std::to_string(bytes) + " bytes";
  return status;
}

Result<void> DestroyQuotaVolume(const std::string& path) {
  if (path.empty() || path[0] != '/') return Error::BadRequest("invalid_path", "quota: volume path must be absolute");
  if (IsQuotaVolume(path)) {
    // Detached lazily: the file system (and its autoclear loop device) goes
    // away with its last user, without making the caller wait for ext4 to
    // write back a volume that is being deleted anyway.
    if (umount2(path.c_str(), MNT_DETACH) != 0) return Error::FromErrno("quota: umount " + path, errno);
  }
  if (unlink(ImageOf(path).c_str()) != 0 && errno != ENOENT)
    return Error::FromErrno("quota: remove " + ImageOf(path), errno);
  unlink(TempImageOf(path).c_str());
  return Ok();
}

}  // namespace pg::sandbox
