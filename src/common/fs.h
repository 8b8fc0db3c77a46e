// File access confined beneath a root directory, for paths that come from
// users. Every open goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS),
// so neither "..", an absolute path, nor a symlink can leave the root.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pg {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Checks a user-supplied relative path and returns it in canonical form
// ("a/b/c": no leading or trailing '/', no "." or empty components). Fails
// with 400 "invalid_path" for "..", absolute paths, NUL bytes, components
// over 255 bytes, or paths over 4096 bytes. "" and "/" mean the root and
// return "" when `allow_root`.
Result<std::string> NormalizeRelativePath(std::string_view path, bool allow_root = false);

// Opens `rel` (already normalized) beneath `root_fd`. `rel` "" opens the root.
Result<UniqueFd> OpenBeneath(int root_fd, const std::string& rel, int flags, mode_t mode = 0);

// Reads a whole regular file beneath the root; fails with 413 "file_too_large"
// past `max_bytes`, 404 when missing, 400 "is_directory" for a directory.
Result<std::string> ReadFileBeneath(int root_fd, const std::string& rel, size_t max_bytes);

// Writes `data` to `rel` atomically (temporary file in the same directory,
// fsync when `durable`, rename). Creates missing parent directories.
Result<void> WriteFileBeneath(int root_fd, const std::string& rel, std::string_view data, bool durable = false,
                              mode_t mode = 0644);

// mkdir -p beneath the root.
Result<void> MakeDirsBeneath(int root_fd, const std::string& rel, mode_t mode = 0755);

// Removes `rel` and everything below it (no symlink is followed).
Result<void> RemoveAllBeneath(int root_fd, const std::string& rel);

// rm -rf of an absolute host path (for volumes and run dirs the hub owns).
Result<void> RemoveTree(const std::string& path);

struct DirEntry {
  std::string path;  // relative to the root
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
};
// Lists the tree under `rel` depth-first, sorted by path, up to `max_entries`.
Result<std::vector<DirEntry>> ListTreeBeneath(int root_fd, const std::string& rel, size_t max_entries = 100000);

}  // namespace pg
