#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/crypto.h"

namespace pg {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<std::string> NormalizeRelativePath(std::string_view path, bool allow_root) {
  if (path.size() > 4096) return Error::BadRequest("invalid_path", "path too long");
  if (path.find('\0') != std::string_view::npos) return Error::BadRequest("invalid_path", "path contains a NUL byte");
  if (!path.empty() && path[0] == '/' && path != "/" && !allow_root)
    return Error::BadRequest("invalid_path", "path must be relative to the workspace");
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return Error::BadRequest("invalid_path", "path escapes the workspace: " + std::string(path));
    if (comp.size() > 255) return Error::BadRequest("invalid_path", "path component too long");
    if (!out.empty()) out.push_back('/');
    out.append(comp);
  }
  if (out.empty() && !allow_root) return Error::BadRequest("invalid_path", "empty path");
  return out;
}

Result<UniqueFd> OpenBeneath(int root_fd, const std::string& rel, int flags, mode_t mode) {
  // O_NONBLOCK: the volume is written by hostile code, and opening a FIFO
  // it left there would block the server until a writer comes (forever).
  // No effect on regular files and directories; O_PATH allows no other flag.
  if (!(flags & O_PATH)) flags |= O_NONBLOCK;
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* p = rel.empty() ? "." : rel.c_str();
  for (;;) {
    long fd = syscall(SYS_openat2, root_fd, p, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    int err = errno;
    if (err == EINTR || err == EAGAIN) continue;
    if (err == ENOENT) return Error::NotFound("no such file: " + rel);
    if (err == EXDEV || err == ELOOP) return Error::BadRequest("invalid_path", "path escapes the workspace: " + rel);
    if (err == EISDIR) return Error::BadRequest("is_directory", rel + " is a directory");
    if (err == ENOTDIR) return Error::BadRequest("not_directory", "a parent of " + rel + " is not a directory");
    if (err == EEXIST) return Error::Make("exists", rel + " already exists", 409);
    if (err == ENOSPC || err == EDQUOT) return Error::Make("no_space", "workspace is full", 507);
    if (err == EACCES || err == EPERM) return Error::Make("forbidden", "permission denied: " + rel, 403);
    if (err == ENAMETOOLONG) return Error::BadRequest("invalid_path", "path too long");
    return Error::FromErrno("open " + rel, err);
  }
}

Result<std::string> ReadFileBeneath(int root_fd, const std::string& rel, size_t max_bytes) {
  PG_ASSIGN_OR_RETURN(UniqueFd fd, OpenBeneath(root_fd, rel, O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Error::FromErrno("stat " + rel, errno);
  if (S_ISDIR(st.st_mode)) return Error::BadRequest("is_directory", rel + " is a directory");
  if (!S_ISREG(st.st_mode)) return Error::BadRequest("not_regular_file", rel + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Error::Make("file_too_large", rel + " is larger than " + std::to_string(max_bytes) + " bytes", 413);
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  for (;;) {
    if (got == data.size()) {
      if (data.size() >= max_bytes) break;
      data.resize(std::min(max_bytes, data.size() + 65536));
    }
    ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + rel, errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

Result<void> MakeDirsBeneath(int root_fd, const std::string& rel, mode_t mode) {
  if (rel.empty()) return Ok();
  size_t pos = 0;
  for (;;) {
    size_t slash = rel.find('/', pos);
    std::string prefix = rel.substr(0, slash);
    size_t parent_end = prefix.rfind('/');
    std::string parent = parent_end == std::string::npos ? "" : prefix.substr(0, parent_end);
    std::string name = parent_end == std::string::npos ? prefix : prefix.substr(parent_end + 1);
    PG_ASSIGN_OR_RETURN(UniqueFd dir, OpenBeneath(root_fd, parent, O_PATH | O_DIRECTORY));
    if (mkdirat(dir.get(), name.c_str(), mode) != 0 && errno != EEXIST) {
      if (errno == ENOSPC || errno == EDQUOT) return Error::Make("no_space", "workspace is full", 507);
      return Error::FromErrno("mkdir " + prefix, errno);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  // The last component must now be a directory (not a file or a symlink).
  PG_ASSIGN_OR_RETURN(UniqueFd check, OpenBeneath(root_fd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  return Ok();
}

Result<void> WriteFileBeneath(int root_fd, const std::string& rel, std::string_view data, bool durable, mode_t mode) {
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name.empty()) return Error::BadRequest("invalid_path", "empty file name");
  PG_RETURN_IF_ERROR(MakeDirsBeneath(root_fd, parent));
  PG_ASSIGN_OR_RETURN(UniqueFd dir, OpenBeneath(root_fd, parent, O_RDONLY | O_DIRECTORY));
  struct stat st;
  if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return Error::BadRequest("is_directory", rel + " is a directory");
  std::string tmp = "." + name.substr(0, 200) + ".tmp-" + RandomToken(6);
  int fd = openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    if (errno == ENOSPC || errno == EDQUOT) return Error::Make("no_space", "workspace is full", 507);
    return Error::FromErrno("create " + rel, errno);
  }
  UniqueFd file(fd);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      unlinkat(dir.get(), tmp.c_str(), 0);
      if (err == ENOSPC || err == EDQUOT || err == EFBIG) return Error::Make("no_space", "workspace is full", 507);
      return Error::FromErrno("write " + rel, err);
    }
    off += static_cast<size_t>(n);
  }
  if (durable && fsync(fd) != 0) {
    int err = errno;
    unlinkat(dir.get(), tmp.c_str(), 0);
    return Error::FromErrno("fsync " + rel, err);
  }
  file.reset();
  if (renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) {
    int err = errno;
    unlinkat(dir.get(), tmp.c_str(), 0);
    return Error::FromErrno("rename " + rel, err);
  }
  if (durable) fsync(dir.get());
  return Ok();
}

namespace {

Result<void> RemoveAt(int parent_fd, const char* name) {
  if (unlinkat(parent_fd, name, 0) == 0) return Ok();
  if (errno == ENOENT) return Ok();
  if (errno != EISDIR && errno != EPERM) return Error::FromErrno(std::string("unlink ") + name, errno);
  int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno(std::string("open ") + name, errno);
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return Error::FromErrno("fdopendir", errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  for (const auto& n : names) {
    auto r = RemoveAt(dirfd(d), n.c_str());
    if (!r.ok()) {
      closedir(d);
      return r;
    }
  }
  closedir(d);
  if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Error::FromErrno(std::string("rmdir ") + name, errno);
  return Ok();
}

}  // namespace

Result<void> RemoveAllBeneath(int root_fd, const std::string& rel) {
  if (rel.empty()) return Error::BadRequest("invalid_path", "cannot remove the workspace root");
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  PG_ASSIGN_OR_RETURN(UniqueFd dir, OpenBeneath(root_fd, parent, O_RDONLY | O_DIRECTORY));
  struct stat st;
  if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::NotFound("no such file: " + rel);
  return RemoveAt(dir.get(), name.c_str());
}

Result<void> RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return Error::BadRequest("invalid_path", "refusing to remove " + path);
  size_t slash = path.rfind('/');
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  int dfd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno == ENOENT ? Ok() : Error::FromErrno("open " + parent, errno);
  UniqueFd d(dfd);
  return RemoveAt(dfd, name.c_str());
}

namespace {

Result<void> ListInto(int dir_fd, const std::string& prefix, std::vector<DirEntry>& out, size_t max_entries) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("open " + prefix, errno);
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return Error::FromErrno("fdopendir", errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    names.emplace_back(e->d_name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (out.size() >= max_entries) break;
    struct stat st;
    if (fstatat(dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // symlinks, sockets: not shown
    DirEntry e;
    e.path = prefix.empty() ? n : prefix + "/" + n;
    e.is_dir = S_ISDIR(st.st_mode);
    e.size = e.is_dir ? 0 : static_cast<uint64_t>(st.st_size);
    e.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    out.push_back(e);
    if (e.is_dir) {
      int sub = openat(dirfd(d), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        UniqueFd s(sub);
        auto r = ListInto(sub, e.path, out, max_entries);
        if (!r.ok()) {
          closedir(d);
          return r;
        }
      }
    }
  }
  closedir(d);
  return Ok();
}

}  // namespace

Result<std::vector<DirEntry>> ListTreeBeneath(int root_fd, const std::string& rel, size_t max_entries) {
  PG_ASSIGN_OR_RETURN(UniqueFd dir, OpenBeneath(root_fd, rel, O_RDONLY | O_DIRECTORY));
  std::vector<DirEntry> out;
  PG_RETURN_IF_ERROR(ListInto(dir.get(), rel, out, max_entries));
  return out;
}

}  // namespace pg
