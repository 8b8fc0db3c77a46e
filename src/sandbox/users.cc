// Users inside the sandbox: everything runs as uid/gid 1000 "playground",
// mapped to one unprivileged host uid/gid. Root inside is not mapped.
#include <cstdlib>
#include <string>

#include "sandbox/internal.h"

namespace pg::sandbox::internal {

std::string PasswdFile() {
  return "root:x:0:0:root:/root:/usr/sbin/nologin\n"
         "playground:x:1000:1000:playground:/workspace:/bin/bash\n"
         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}

std::string GroupFile() {
  return "root:x:0:\n"
         "playground:x:1000:\n"
         "nogroup:x:65534:\n";
}

std::string HostsFile(const std::string& hostname) {
  return "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
}

// $PG_SANDBOX_UID / $PG_SANDBOX_GID, else nobody/nogroup (65534). Never 0.
static unsigned FromEnv(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  unsigned long n = std::strtoul(v, &end, 10);
  if (*end || n == 0 || n > 0xfffffffeUL) return fallback;
  return static_cast<unsigned>(n);
}

uid_t DefaultHostUid() { return FromEnv("PG_SANDBOX_UID", 65534); }
gid_t DefaultHostGid() { return FromEnv("PG_SANDBOX_GID", 65534); }

}  // namespace pg::sandbox::internal
