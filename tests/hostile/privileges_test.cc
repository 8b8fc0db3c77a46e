// Privilege and kernel-surface attacks through the public run API:
// identity and capabilities, setuid binaries, ptrace/kill/proc of processes
// outside the run's tree, mount/unshare/chroot, and the rarely used kernel
// interfaces docs/sandbox.md's threat model names (keyctl, bpf,
// perf_event_open, io_uring, userfaultfd, modules, kexec, the i386 ABI, ...).
#include <signal.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "hostile_fixture.h"

namespace pg::testing::hostile {
namespace {

using PrivilegesTest = HostileTest;

TEST_P(PrivilegesTest, RunsHaveNoRootNoCapabilitiesAndCannotGetThem) {
  const std::string code = R"PY(
res = {}
status = open("/proc/self/status").read()
field = lambda k: [l.split(":", 1)[1].strip() for l in status.splitlines() if l.startswith(k + ":")][0]
res["uid"] = os.getuid()
res["euid"] = os.geteuid()
res["CapEff"] = field("CapEff")
res["CapPrm"] = field("CapPrm")
res["CapBnd"] = field("CapBnd")
res["CapAmb"] = field("CapAmb")
res["NoNewPrivs"] = field("NoNewPrivs")
res["Seccomp"] = field("Seccomp")
res["setuid 0"] = attempt(lambda: os.setuid(0))
res["setgid 0"] = attempt(lambda: os.setgid(0))
res["setgroups 0"] = attempt(lambda: os.setgroups([0]))
res["setresuid 0"] = attempt(lambda: os.setresuid(0, 0, 0))
res["chown /workspace root"] = attempt(lambda: os.chown("/workspace", 0, 0))
report(**res)
)PY";
  auto r = Python(code);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  EXPECT_NE(r.Int("uid"), 0) << Describe(r);
  EXPECT_NE(r.Int("euid"), 0) << Describe(r);
  for (const char* k : {"CapEff", "CapPrm", "CapBnd", "CapAmb"})
    EXPECT_EQ(r.Str(k), "0000000000000000") << k << "\n" << Describe(r);
  EXPECT_EQ(r.Str("NoNewPrivs"), "1") << Describe(r);
  EXPECT_EQ(r.Str("Seccomp"), "2") << Describe(r);
  // EPERM, or EINVAL where uid/gid 0 is not even mapped (local: root of
  // the run's user namespace does not exist).
  for (const char* k : {"setuid 0", "setgid 0", "setgroups 0", "setresuid 0", "chown /workspace root"}) {
    EXPECT_TRUE(r.Str(k) == "EPERM" || r.Str(k) == "EINVAL") << k << "\n" << Describe(r);
  }
}

TEST_P(PrivilegesTest, SetuidBinariesDoNotGrantRoot) {
  // Start each setuid-root binary with its stdin held open, stop it right
  // after its exec (SIGSTOP is acted on only when the exec has finished and
  // the new credentials are in place) and read its credentials from
  // /proc/PID/status. Then kill it.
  const std::string code = R"PY(
res = {}
seen = 0
for binary in ("/usr/bin/passwd", "/usr/bin/su", "/usr/bin/mount", "/usr/bin/newgrp"):
    if not os.path.exists(binary):
        res[binary] = "absent"
        continue
    st = os.stat(binary)
    res[binary + " mode"] = oct(st.st_mode & 0o7777)
    uids = None
    for attempt_no in range(20):
        p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(2000):
            fields = {}
            try:
                os.kill(p.pid, signal.SIGSTOP)
                for j in range(2000):
                    s = open("/proc/%d/status" % p.pid).read()
                    fields = dict((k, v.strip()) for k, v in (l.split(":", 1) for l in s.splitlines() if ":" in l))
                    if fields["State"].startswith(("T", "Z", "X")):
                        break
            except OSError:
                break
            if fields.get("State", "").startswith("T") and fields.get("Name") == os.path.basename(binary):
                uids = fields["Uid"].split()
                break
            if fields.get("State", "").startswith(("Z", "X")):
                break
            os.kill(p.pid, signal.SIGCONT)
        p.kill()
        p.communicate()
        if uids is not None:
            break
    res[binary] = " ".join(uids) if uids else "not caught"
    if uids:
        seen += 1
res["caught"] = seen
res["my uid"] = str(os.getuid())
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 30000})");
  ASSERT_EQ(r.status, "ok") << Describe(r);
  EXPECT_GE(r.Int("caught"), 1) << "no setuid binary could be observed after its exec\n" << Describe(r);
  const std::string me = r.Str("my uid");
  for (const char* b : {"/usr/bin/passwd", "/usr/bin/su", "/usr/bin/mount", "/usr/bin/newgrp"}) {
    std::string uids = r.Str(b);
    if (uids == "absent" || uids == "not caught") continue;
    // real, effective, saved, fs: all stay the caller's.
    EXPECT_EQ(uids, me + " " + me + " " + me + " " + me) << b << " ran with other credentials\n" << Describe(r);
  }
}

// Kernel interfaces a run must not reach. Local: each is refused by the
// sandbox's seccomp filter, so the answer is exactly EPERM (clone3: ENOSYS,
// so that libc falls back to clone). Docker (runs share the runner
// container, see docs/docker.md): Docker's default seccomp profile plus no
// capabilities; the guarantee asserted there is that the call fails, for
// the calls that would grant something if they succeeded (the "docker"
// column); the others (harmless queries there, e.g. adjtimex with modes 0)
// are refused by the local filter only.
TEST_P(PrivilegesTest, DangerousSystemCallsAreRefused) {
  const std::string code = R"PY(
import struct
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP = \
    0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x02000000
buf = lambda n: ctypes.create_string_buffer(n)
s = lambda t: ctypes.c_char_p(t)
os.makedirs("/tmp/mnt", exist_ok=True)
now = struct.pack("qq", int(time.time()), 0)
perf = bytearray(128)
struct.pack_into("IIQ", perf, 0, 1, 64, 0)             # PERF_TYPE_SOFTWARE, size, CPU_CLOCK
struct.pack_into("Q", perf, 40, (1 << 0) | (1 << 5) | (1 << 6))  # disabled, exclude_kernel, exclude_hv
perf = ctypes.create_string_buffer(bytes(perf), 128)
bpf_attr = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1) + bytes(112), 128)  # array map
clone_args = ctypes.create_string_buffer(struct.pack("Q", CLONE_NEWUSER) + bytes(80), 88)
self_pidfd = os.pidfd_open(os.getpid())
netns = os.open("/proc/self/ns/net", os.O_RDONLY)
calls = [
    # name, nr, args, must fail under docker too
    ("keyctl", 250, [0, -3, 1], True),
    ("add_key", 248, [s(b"user"), s(b"pg"), s(b"x"), 1, -3], True),
    ("request_key", 249, [s(b"user"), s(b"pg"), 0, 0], True),
    ("bpf", 321, [0, bpf_attr, 128], True),
    ("perf_event_open", 298, [perf, 0, -1, -1, 0], True),
    ("io_uring_setup", 425, [4, buf(120)], True),
    ("userfaultfd", 323, [0o2000000 | 1], True),
    ("kexec_load", 246, [0, 0, 0, 0], True),
    ("kexec_file_load", 320, [-1, -1, 0, s(b""), 0], True),
    ("init_module", 175, [0, 0, s(b"")], True),
    ("finit_module", 313, [0, s(b""), 0], True),
    ("delete_module", 176, [s(b"pg_hostile_none"), 0o4000], True),
    ("open_by_handle_at", 304, [-100, buf(128), 0], True),
    ("iopl", 172, [3], True),
    ("ioperm", 173, [0x80, 1, 1], True),
    ("swapon", 167, [s(b"/tmp/swap"), 0], True),
    ("reboot", 169, [0xfee1dead, 672274793, 0, 0], True),
    ("settimeofday", 164, [now, 0], True),
    ("clock_settime", 227, [0, now], True),
    ("acct", 163, [0], True),
    ("quotactl", 179, [0x800005, s(b"/dev/vda"), 0, 0], True),
    ("syslog", 103, [3, buf(256), 256], True),
    ("vhangup", 153, [], True),
    ("fanotify_init", 300, [0, 0], True),
    ("personality ADDR_NO_RANDOMIZE", 135, [0x0040000], True),
    ("personality READ_IMPLIES_EXEC", 135, [0x0400000], True),
    ("ptrace attach hub", 101, [16, HUB_PID, 0, 0], True),
    ("process_vm_readv hub", 310, [HUB_PID, buf(16), 1, buf(16), 1, 0], True),
    ("mount tmpfs", 165, [s(b"none"), s(b"/tmp/mnt"), s(b"tmpfs"), 0, 0], True),
    ("mount bind /", 165, [s(b"/"), s(b"/tmp/mnt"), 0, 0x1000 | 0x4000, 0], True),
    ("umount2 /workspace", 166, [s(b"/workspace"), 2], True),
    ("pivot_root", 155, [s(b"/tmp"), s(b"/tmp/mnt")], True),
    ("chroot", 161, [s(b"/tmp")], True),
    ("fsopen", 430, [s(b"tmpfs"), 0], True),
    ("open_tree", 428, [-100, s(b"/workspace"), 1], True),
    ("unshare user", 272, [CLONE_NEWUSER], True),
    ("unshare net", 272, [CLONE_NEWNET], True),
    ("unshare mount", 272, [CLONE_NEWNS], True),
    ("unshare pid", 272, [CLONE_NEWPID], True),
    ("unshare uts", 272, [CLONE_NEWUTS], True),
    ("unshare ipc", 272, [CLONE_NEWIPC], True),
    ("unshare cgroup", 272, [CLONE_NEWCGROUP], True),
    ("clone3 newuser", 435, [clone_args, 88], True),
    ("sethostname", 170, [s(b"pwned"), 5], True),
    ("adjtimex query", 159, [buf(208)], False),
    ("name_to_handle_at", 303, [-100, s(b"/workspace"), buf(128), buf(4), 0], False),
    ("kcmp", 312, [os.getpid(), os.getpid(), 0, 0, 0], False),
    ("lookup_dcookie", 212, [0, buf(64), 64], False),
    ("set_mempolicy", 238, [0, 0, 0], False),
    ("process_vm_writev hub", 311, [HUB_PID, buf(16), 1, buf(16), 1, 0], True),
    ("swapoff", 168, [s(b"/tmp/swap")], True),
    ("move_mount", 429, [-100, s(b"/tmp"), -100, s(b"/tmp/mnt"), 0], True),
    ("fspick", 433, [-100, s(b"/workspace"), 0], True),
    ("mount_setattr", 442, [-100, s(b"/workspace"), 0, buf(32), 32], True),
    ("setns net", 308, [netns, CLONE_NEWNET], True),
    ("pidfd_getfd self", 438, [self_pidfd, 0, 0], False),
    ("clock_adjtime query", 305, [0, buf(208)], False),
    ("io_uring_enter", 426, [-1, 0, 0, 0, 0, 0], False),
    ("io_uring_register", 427, [-1, 0, 0, 0], False),
    ("mbind", 237, [0, 0, 0, 0, 0, 0], False),
    ("migrate_pages", 256, [0, 1, buf(8), buf(8)], False),
    ("move_pages", 279, [0, 0, 0, 0, 0, 0], False),
]
res = {}
for name, nr, args, docker in calls:
    r, e = sc(nr, *args)
    if r == 0 and nr == 435:
        os._exit(0)  # the child of a clone3 that should not have worked
    res[name] = {"ret": r, "errno": ename(e) if r == -1 else "", "docker": docker}
# Typing into a terminal: TIOCSTI / TIOCLINUX on a pty of our own.
import fcntl
master, slave = os.openpty()
for name, req in (("ioctl TIOCSTI", 0x5412), ("ioctl TIOCLINUX", 0x541C)):
    try:
        fcntl.ioctl(slave, req, b"\x06")
        res[name] = {"ret": 0, "errno": "", "docker": name == "ioctl TIOCSTI"}
    except OSError as e:
        res[name] = {"ret": -1, "errno": ename(e.errno), "docker": name == "ioctl TIOCSTI"}
# unshare(1) from util-linux, as a user would try it.
try:
    p = subprocess.run(["unshare", "-r", "-n", "id", "-u"], capture_output=True, text=True)
    res["unshare -r -n (command)"] = {"ret": p.returncode if p.returncode == 0 else -1,
                                       "errno": "exit %d %s" % (p.returncode, p.stderr.strip()[:80]), "docker": True}
except FileNotFoundError:
    pass
report(**res)
)PY";
  std::string program = code;
  for (size_t at; (at = program.find("HUB_PID")) != std::string::npos;)
    program.replace(at, 7, std::to_string(hub_pid()));
  auto r = Python(program, R"({"wall_ms": 20000})");
  ASSERT_EQ(r.status, "ok") << Describe(r);
  ASSERT_TRUE(r.report.is_object()) << Describe(r);
  EXPECT_GE(r.report.as_object().size(), 60u);
  for (const auto& [name, v] : r.report.as_object()) {
    const auto& o = v.as_object();
    int64_t ret = o.at("ret").to_number<int64_t>();
    std::string err(o.at("errno").as_string());
    bool docker_too = o.at("docker").as_bool();
    std::string n(name);
    if (local()) {
      std::string want = n.rfind("clone3", 0) == 0 ? "ENOSYS" : "EPERM";
      if (n == "unshare -r -n (command)") {
        EXPECT_EQ(ret, -1) << n << ": " << err;
        continue;
      }
      EXPECT_EQ(ret, -1) << n << " succeeded\n" << Describe(r);
      EXPECT_EQ(err, want) << n << "\n" << Describe(r);
    } else if (docker_too) {
      // Docker: Docker's default profile, and under it the project's own
      // filter for every run (runner/direct_launch.cc; io_uring among others).
      EXPECT_EQ(ret, -1) << n << " succeeded\n" << Describe(r);
    }
  }
}

TEST_P(PrivilegesTest, The32BitAbiIsNotAWayAround) {
  // Native code: i386 system calls through int 0x80 (their numbers differ,
  // a filter written for x86_64 numbers would misread them). Local: the
  // filter kills the process on any non-native ABI (SIGSYS). Docker's
  // default profile allows the i386 ABI with its own per-call rules, but
  // docker runs load the project's filter too, so the same holds there.
  const std::string code = R"C(
#include <stdio.h>
static long sys32(long nr, long a, long b) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
  return ret;
}
int main(void) {
  printf("{\"start\": true}\n");
  fflush(stdout);
  long uid = sys32(199, 0, 0);            /* getuid32 */
  long unshare = sys32(310, 0x10000000, 0); /* unshare(CLONE_NEWUSER) */
  printf("{\"uid32\": %ld, \"unshare32\": %ld}\n", uid, unshare);
  return 0;
}
)C";
  auto r = C(code);
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "runtime_error") << Describe(r);
  EXPECT_EQ(r.signal, "SIGSYS") << Describe(r);
  EXPECT_EQ(r.out.find("uid32"), std::string::npos) << Describe(r);
}

TEST_P(PrivilegesTest, ProcessesOutsideTheTreeCannotBeSeenOrSignalled) {
  // The run starts a child, then looks at /proc and tries to signal the
  // hub (by its host pid) and pid 1.
  const std::string code = "HUB = " + std::to_string(hub_pid()) + "\n" + R"PY(
child = subprocess.Popen(["sleep", "30"])
res = {}
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            procs[int(d)] = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            pass
res["procs"] = {str(k): v for k, v in procs.items()}
res["me"] = os.getpid()
res["child"] = child.pid
res["hub visible"] = os.path.exists("/proc/%d" % HUB)
def sig(pid, s):
    os.kill(pid, s)
res["signal hub 0"] = attempt(lambda: sig(HUB, 0))
res["signal hub SIGKILL"] = attempt(lambda: sig(HUB, signal.SIGKILL))
res["pidfd_open hub"] = attempt(lambda: os.close(os.pidfd_open(HUB)))
# pid 1 is the run's own init (local) or the container's init (docker):
# the kernel ignores SIGKILL to it from inside its namespace.
sig(1, signal.SIGKILL)
time.sleep(0.2)
res["pid 1 alive"] = os.path.exists("/proc/1")
child.kill()
child.wait()
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 20000})");
  ASSERT_EQ(r.status, "ok") << Describe(r);
  EXPECT_TRUE(r.Bool("pid 1 alive")) << Describe(r);
  for (const char* k : {"signal hub 0", "signal hub SIGKILL", "pidfd_open hub"})
    EXPECT_NE(r.Str(k), "ok") << k << "\n" << Describe(r);
  // The hub lives on.
  EXPECT_EQ(kill(hub_pid(), 0), 0);
  EXPECT_GE(HubLatencyMs(), 0);

  ASSERT_TRUE(r.report.at("procs").is_object()) << Describe(r);
  const auto& procs = r.report.at("procs").as_object();
  const int64_t me = r.Int("me"), child = r.Int("child");
  for (const auto& [pid, cmd] : procs) {
    std::string c(cmd.as_string());
    // Never the hub, never another container's server.
    EXPECT_EQ(c.find(" serve "), std::string::npos) << pid << ": " << c;
    EXPECT_EQ(c.find("workspace-server"), std::string::npos) << pid << ": " << c;
    EXPECT_EQ(c.find("dockerd"), std::string::npos) << pid << ": " << c;
    if (local()) {
      // The run's own pid namespace: its init (pid 1), itself, its child.
      int64_t p = std::atoll(std::string(pid).c_str());
      EXPECT_TRUE(p == 1 || p == me || p == child) << "foreign process " << pid << ": " << c << "\n" << Describe(r);
    }
  }
  if (local()) {
    EXPECT_EQ(me, 2) << "the main process is pid 2 of its own namespace";
  } else {
    // Docker: the runner container's pid namespace (docker-init, the runner
    // server, this run); nothing of the host or of other containers.
    EXPECT_LE(procs.size(), 6u) << Describe(r);
  }
}

TEST_P(PrivilegesTest, KillEverythingReachesOnlyTheOwnPlayground) {
  // kill(-1, SIGKILL) signals every process the caller may signal.
  // Local: that is the run's own tree (its pid namespace): the runner
  // survives and the next run works at once. Docker: runs share the playground's uid
  // and the pid namespace with the runner server (docs/docker.md), so the
  // runner server dies and its container restarts; what docker guarantees
  // is that nothing outside the playground is touched and the playground
  // recovers.
  std::string victim = local() ? playground() : CreatePlayground();
  ASSERT_FALSE(victim.empty());
  std::string bystander = CreatePlayground();
  ASSERT_FALSE(bystander.empty());
  const std::string code = R"PY(
child = subprocess.Popen(["sleep", "30"])
time.sleep(0.1)
res = attempt(lambda: os.kill(-1, signal.SIGKILL))
time.sleep(0.5)
report(kill=res, child_killed=child.poll() == -signal.SIGKILL, survived=True)
)PY";
  auto r = Python(code, R"({"wall_ms": 10000})", victim);
  if (local()) {
    ASSERT_EQ(r.http_status, 200) << Describe(r);
    EXPECT_EQ(r.status, "ok") << Describe(r);
    EXPECT_TRUE(r.Bool("survived")) << Describe(r);
    EXPECT_TRUE(r.Bool("child_killed")) << "kill(-1) reaches the run's own processes" << Describe(r);
  }
  EXPECT_EQ(kill(hub_pid(), 0), 0);
  EXPECT_GE(HubLatencyMs(), 0);
  auto by = Python("report(ok=True)\n", "{}", bystander);
  EXPECT_EQ(by.status, "ok") << Describe(by);
  auto shared = Python("report(ok=True)\n", "{}", local() ? bystander : playground());
  EXPECT_EQ(shared.status, "ok") << Describe(shared);
  // The victim runs again (docker: once its runner container restarted).
  RunResult again;
  for (int i = 0; i < 60; ++i) {
    again = Python("report(ok=True)\n", "{}", victim);
    if (again.status == "ok") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(again.status, "ok") << Describe(again);
  if (local()) {
    auto g = hub().Call("GET", "/api/v1/playgrounds/" + victim);
    EXPECT_EQ(g.json.at("restarts").to_number<int64_t>(), 0) << g.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Orchestrators, PrivilegesTest, ::testing::Values("local", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pg::testing::hostile
