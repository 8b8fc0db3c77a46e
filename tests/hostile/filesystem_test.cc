// File-system escapes through the public run API: host secrets, the hub's
// data dir, another playground's volume, writes outside /workspace and
// /tmp, devices, /proc/sys and /sys. Every attempt must fail; positive
// controls (the workspace, /tmp, /dev/null) must work so that a failure
// cannot come from a broken program.
#include <algorithm>
#include <set>

#include "hostile_fixture.h"

namespace pg::testing::hostile {
namespace {

using FilesystemTest = HostileTest;

std::string PyList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const auto& x : v) s += "\"" + x + "\",";
  return s + "]";
}

// Every member of the report but `except` must be a failure (not "ok").
void ExpectAllFail(const RunResult& r, const std::vector<std::string>& except = {}) {
  ASSERT_TRUE(r.report.is_object()) << Describe(r);
  for (const auto& [k, v] : r.report.as_object()) {
    if (std::find(except.begin(), except.end(), std::string(k)) != except.end()) continue;
    ASSERT_TRUE(v.is_string()) << k;
    EXPECT_NE(v.as_string(), "ok") << "the playground could: " << k << "\n" << Describe(r);
  }
}

TEST_P(FilesystemTest, HostSecretsTheDataDirAndOtherVolumesAreUnreadable) {
  std::string other = CreatePlayground();
  ASSERT_FALSE(other.empty());
  // Something to steal in the other playground.
  auto put = hub().Call("PUT", "/api/v1/playgrounds/" + other + "/files/secret.txt", "other's secret");
  ASSERT_EQ(put.status, 204) << put.body;
  const std::string data = hub().data_dir();
  std::vector<std::string> reads = {"/etc/shadow",
                                    "/etc/gshadow",
                                    "/root/.bashrc",
                                    data + "/admin-token",
                                    data + "/registry.db",
                                    data + "/volumes/" + other + "/secret.txt",
                                    data + "/volumes/" + other + ".ext4",
                                    "/var/lib/docker/volumes/playground-" + other + "/_data/secret.txt",
                                    "/proc/" + std::to_string(hub_pid()) + "/environ",
                                    "/proc/" + std::to_string(hub_pid()) + "/root/etc/shadow",
                                    "/proc/1/root/etc/shadow",
                                    "/proc/kcore",
                                    "/proc/kmsg",
                                    "/sys/kernel/security/lsm"};
  std::vector<std::string> lists = {"/root",
                                    data,
                                    data + "/volumes",
                                    data + "/volumes/" + other,
                                    data + "/run/" + other,
                                    "/var/lib/docker/volumes/playground-" + other + "/_data",
                                    "/home"};
  const std::string code = "reads = " + PyList(reads) + "\nlists = " + PyList(lists) + "\n" + R"PY(
res = {}
def read(p):
    with open(p, "rb") as f:
        f.read(64)
def ls(p):
    # An empty directory reveals nothing; a listing that names a file does.
    if os.listdir(p):
        return
    raise OSError(errno.ENOENT, "empty")
for p in reads:
    res["read " + p] = attempt(lambda: read(p))
for p in lists:
    res["list " + p] = attempt(lambda: ls(p))
# Positive controls.
with open("/workspace/mine.txt", "w") as f:
    f.write("mine")
res["control: read /workspace/mine.txt"] = attempt(lambda: read("/workspace/mine.txt"))
res["control: read /usr/bin/env"] = attempt(lambda: read("/usr/bin/env"))
# The other playground's secret anywhere we can see?
found = []
for root in ("/workspace", "/tmp", "/run", "/mnt", "/media", "/srv", "/opt", "/var"):
    for dirpath, dirs, files in os.walk(root):
        if "secret.txt" in files:
            found.append(dirpath)
res["found_secret"] = ";".join(found) if found else "none"
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 30000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  ExpectAllFail(r, {"control: read /workspace/mine.txt", "control: read /usr/bin/env", "found_secret"});
  EXPECT_EQ(r.Str("control: read /workspace/mine.txt"), "ok") << Describe(r);
  EXPECT_EQ(r.Str("control: read /usr/bin/env"), "ok") << Describe(r);
  EXPECT_EQ(r.Str("found_secret"), "none") << Describe(r);
}

TEST_P(FilesystemTest, NothingOutsideWorkspaceAndTmpIsWritable) {
  const std::string data = hub().data_dir();
  std::vector<std::string> writes = {"/pg-hostile",
                                     "/etc/pg-hostile",
                                     "/etc/passwd",
                                     "/usr/pg-hostile",
                                     "/usr/bin/pg-hostile",
                                     "/usr/bin/python3",
                                     "/usr/lib/pg-hostile",
                                     "/bin/pg-hostile",
                                     "/lib/pg-hostile",
                                     "/sbin/pg-hostile",
                                     "/var/pg-hostile",
                                     "/var/tmp/pg-hostile",
                                     "/root/pg-hostile",
                                     "/home/pg-hostile",
                                     "/opt/pg-hostile",
                                     "/srv/pg-hostile",
                                     "/mnt/pg-hostile",
                                     "/dev/pg-hostile",
                                     "/dev/shm/../pg-hostile",
                                     "/proc/pg-hostile",
                                     "/sys/pg-hostile",
                                     "/usr/local/bin/playground",
                                     data + "/pg-hostile"};
  const std::string code = "writes = " + PyList(writes) + "\n" + R"PY(
res = {}
def write(p):
    with open(p, "ab") as f:
        f.write(b"x")
for p in writes:
    res["write " + p] = attempt(lambda: write(p))
res["mkdir /pg-hostile-dir"] = attempt(lambda: os.mkdir("/pg-hostile-dir"))
res["chmod /usr/bin/env"] = attempt(lambda: os.chmod("/usr/bin/env", 0o777))
res["rename /usr/bin/env"] = attempt(lambda: os.rename("/usr/bin/env", "/usr/bin/env2"))
res["symlink /etc/pg-hostile"] = attempt(lambda: os.symlink("/workspace", "/etc/pg-hostile"))
res["utime /etc/hosts"] = attempt(lambda: os.utime("/etc/hosts"))
# What else is writable? Walk the tree for writable directories.
writable = []
skip = ("/proc", "/sys", "/workspace", "/tmp", "/dev/shm")
for root in ("/",):
    for dirpath, dirs, files in os.walk(root):
        if dirpath.startswith(skip):
            dirs[:] = []
            continue
        if dirpath.count("/") >= 3:
            dirs[:] = []
        if os.access(dirpath, os.W_OK):
            writable.append(dirpath)
res["writable_dirs"] = writable
# Positive controls.
res["control: /workspace"] = attempt(lambda: write("/workspace/pg-hostile-ok"))
res["control: /tmp"] = attempt(lambda: write("/tmp/pg-hostile-ok"))
os.unlink("/workspace/pg-hostile-ok")
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 30000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  ExpectAllFail(r, {"control: /workspace", "control: /tmp", "writable_dirs"});
  EXPECT_EQ(r.Str("control: /workspace"), "ok") << Describe(r);
  EXPECT_EQ(r.Str("control: /tmp"), "ok") << Describe(r);
  // Writable directories outside /workspace and /tmp: none locally. Docker:
  // the runs share the runner container's file system, whose only writable
  // places besides /workspace and /tmp are /run/playground (the
  // playground's own socket directory, bound from the hub's
  // <data-dir>/run/<id>) and /dev/mqueue (the container's private IPC
  // namespace). Nothing that belongs to the host or another playground.
  std::set<std::string> allowed;
  if (!local()) allowed = {"/run/playground", "/dev/mqueue"};
  ASSERT_TRUE(r.report.at("writable_dirs").is_array()) << Describe(r);
  for (const auto& d : r.report.at("writable_dirs").as_array()) {
    std::string dir(d.as_string());
    EXPECT_TRUE(allowed.count(dir)) << "writable directory " << dir << "\n" << Describe(r);
  }
}

TEST_P(FilesystemTest, DevicesProcSysAndSysAreOffLimits) {
  const std::string code = R"PY(
res = {}
def rd(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.read(fd, 1)
    finally:
        os.close(fd)
def wr(p, data=b"1"):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
for dev in ("/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/loop0",
            "/dev/loop-control", "/dev/kmsg", "/dev/mapper/control", "/dev/fuse", "/dev/net/tun", "/dev/kvm",
            "/dev/console", "/dev/tty0", "/dev/input/event0", "/dev/dri/card0", "/dev/vhost-net"):
    res["open " + dev] = attempt(lambda: rd(dev))
res["mknod block"] = attempt(lambda: os.mknod("/tmp/disk", 0o600 | 0o060000, os.makedev(254, 0)))
res["mknod char mem"] = attempt(lambda: os.mknod("/tmp/mem", 0o600 | 0o020000, os.makedev(1, 1)))
for p in ("/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches",
          "/proc/sys/kernel/sysrq", "/proc/sysrq-trigger", "/proc/sys/net/ipv4/ip_forward",
          "/proc/sys/kernel/modprobe"):
    res["write " + p] = attempt(lambda: wr(p, b"0"))
res["oom_score_adj -1000"] = attempt(lambda: wr("/proc/self/oom_score_adj", b"-1000"))
res["uid_map"] = attempt(lambda: wr("/proc/self/uid_map", b"0 0 1"))
for p in ("/sys/kernel/uevent_helper", "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled",
          "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
          "/sys/fs/cgroup/cgroup.procs", "/sys/class/net/lo/mtu"):
    res["write " + p] = attempt(lambda: wr(p, b"1"))
res["control: /dev/null"] = attempt(lambda: wr("/dev/null"))
res["control: /dev/urandom"] = attempt(lambda: rd("/dev/urandom"))
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 20000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  ExpectAllFail(r, {"control: /dev/null", "control: /dev/urandom"});
  EXPECT_EQ(r.Str("control: /dev/null"), "ok") << Describe(r);
  EXPECT_EQ(r.Str("control: /dev/urandom"), "ok") << Describe(r);
}

TEST_P(FilesystemTest, FifosAndSymlinksInTheWorkspaceNeitherHangNorLeakThroughItsServers) {
  // A run leaves FIFOs and symlinks to host files in /workspace; then the
  // servers that read the workspace on the user's behalf (the workspace
  // server for the files API, the runner server for a run's entry) are
  // asked for them. Opening a FIFO blocks until a writer comes: a server
  // that does that hangs for good, and every later request of the
  // playground with it. Its own playground, so that a hang cannot spill
  // into the other tests.
  std::string victim = CreatePlayground();
  ASSERT_FALSE(victim.empty());
  auto r = Python(R"PY(
os.mkfifo("/workspace/fifo.txt")
os.mkfifo("/workspace/fifo.py")
os.mkfifo("/workspace/fifo.c")
os.symlink("/etc/shadow", "/workspace/shadow-link")
os.symlink("/proc/self/environ", "/workspace/environ-link")
os.symlink("../../../../../../../../etc/passwd", "/workspace/passwd-link")
report(ok=True)
)PY",
                  "{}", victim);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  const std::string base = "/api/v1/playgrounds/" + victim;
  // The runner server: a FIFO as a run's entry is refused at once, and the
  // next run works. (A hung server answers nothing: status -1 after 5 s.)
  auto run = CallWithin("POST", base + "/runs", R"({"language":"python","entry":"fifo.py"})", 5);
  EXPECT_EQ(run.status, 400) << "(-1: the runner server hangs) " << run.body;
  auto after = CallWithin(
      "POST", base + "/runs", R"J({"language":"python","files":{"ok.py":"print(6*7)"},"entry":"ok.py"})J", 5);
  EXPECT_EQ(after.status, 200) << after.body;
  if (after.status == 200) {
    EXPECT_EQ(after.json.at("stdout").as_string(), "42\n") << after.body;
  }
  // The workspace server: FIFOs and escaping symlinks are refused (4xx),
  // and it keeps serving.
  for (const char* path : {"fifo.txt", "fifo.py", "shadow-link", "environ-link", "passwd-link"}) {
    auto g = CallWithin("GET", base + "/files/" + path, "", 5);
    ASSERT_NE(g.status, -1) << "GET " << path << ": the workspace server hangs (" << g.body << ")";
    EXPECT_GE(g.status, 400) << path << ": " << g.body;
    EXPECT_LT(g.status, 500) << path << ": " << g.body;
  }
  auto list = CallWithin("GET", base + "/files/", "", 5);
  EXPECT_EQ(list.status, 200) << list.body;
  auto put = CallWithin("PUT", base + "/files/after.txt", "fine", 5);
  EXPECT_EQ(put.status, 204) << put.body;
  auto get = CallWithin("GET", base + "/files/after.txt", "", 5);
  EXPECT_EQ(get.body, "fine");
}

INSTANTIATE_TEST_SUITE_P(Orchestrators, FilesystemTest, ::testing::Values("local", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pg::testing::hostile
