#include <fcntl.h>
#include <unistd.h>
#include "testing/testing.h"

#include <sys/mount.h>

#include <cstdlib>
#include <fstream>
#include <vector>
#include <stdexcept>

#include "common/fs.h"

namespace pg::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pgtest-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  // Volumes of playgrounds a test did not delete are mounts: detach them
  // first, or the tree cannot be removed.
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, rest;
  std::vector<std::string> under;
  while (mounts >> dev >> dir && std::getline(mounts, rest)) {
    if (dir.rfind(path_ + "/", 0) == 0) under.push_back(dir);
  }
  for (auto it = under.rbegin(); it != under.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  (void)RemoveTree(path_);
}

static std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string PlaygroundBinary() { return Env("PG_BINARY", "build/playground"); }
std::string SourceDir() { return Env("PG_SOURCE_DIR", "."); }
std::string SharedDir() { return Env("PG_SHARED_DIR", "../shared"); }

std::string ReadProcFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace pg::testing
