// Resource exhaustion through the public run API: fork bomb, memory hog,
// CPU spin, output flood, disk and /tmp fill, daemons that try to outlive
// their run. Each attack must end at its limit with the documented status,
// and the hub (and the rest of the host) must stay responsive.
#include <atomic>
#include <thread>

#include "hostile_fixture.h"

namespace pg::testing::hostile {
namespace {

class ResourcesTest : public HostileTest {
 protected:
  // A daemon (setsid + double fork, SIGTERM/SIGHUP ignored) keeps appending
  // to a marker file in /workspace; once the run has returned, the marker
  // must stop growing.
  void ExpectDaemonDies(const std::string& marker, const RunResult& r) {
    ASSERT_EQ(r.http_status, 200) << Describe(r);
    EXPECT_TRUE(r.Bool("started")) << Describe(r);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int status = 0;
    size_t s1 = FileOf(playground(), marker, &status).size();
    EXPECT_EQ(status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    size_t s2 = FileOf(playground(), marker, &status).size();
    EXPECT_GT(s1, 0u);
    // Docker: each run has a keeper (runner/direct_launch.cc), a child
    // subreaper the daemon re-parents to and which kills it with the run.
    EXPECT_EQ(s1, s2) << "the daemon is still writing " << marker << " after its run ended";
  }
};

TEST_P(ResourcesTest, ForkBombStopsAtThePidsLimitAndSparesTheHubAndOtherPlaygrounds) {
  // Every process forks forever; the first process to hit the limit
  // reports the errno once. The bomb only ends at the time limit.
  const std::string code = R"PY(
reported = False
forked = 0
while True:
    try:
        pid = os.fork()
    except OSError as e:
        if not reported:
            reported = True
            os.write(1, (json.dumps({"fork_errno": ename(e.errno), "forked": forked}) + "\n").encode())
        continue
    if pid == 0:
        reported = True  # only the first process reports
    else:
        forked += 1
)PY";
  // Another playground forks a few children while the bomb runs.
  const std::string forker = R"PY(
kids = []
err = None
for i in range(8):
    try:
        pid = os.fork()
    except OSError as e:
        err = ename(e.errno)
        break
    if pid == 0:
        time.sleep(0.2)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
report(forked=len(kids), err=err)
)PY";
  std::string bystander = CreatePlayground();
  ASSERT_FALSE(bystander.empty());
  std::atomic<bool> done{false};
  RunResult r;
  std::thread bomb([&] {
    r = Python(code, R"({"processes": 64, "wall_ms": 5000, "cpu_ms": 30000, "memory_kb": 1048576})");
    done = true;
  });
  // The hub answers quickly while the bomb runs.
  int64_t worst = 0;
  int probes = 0, failures = 0;
  std::thread prober([&] {
    while (!done) {
      int64_t ms = HubLatencyMs();
      if (ms < 0) {
        ++failures;
      } else {
        worst = std::max(worst, ms);
      }
      ++probes;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  const bool bomb_still_running = !done;
  auto by = Python(forker, "{}", bystander);
  bomb.join();
  prober.join();
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "timed_out") << Describe(r);
  EXPECT_EQ(r.Str("fork_errno"), "EAGAIN") << Describe(r);
  // The pids limit bounds the tree: the first process cannot have forked
  // more than that.
  EXPECT_LE(r.Int("forked"), 64) << Describe(r);
  EXPECT_GE(probes, 3);
  EXPECT_EQ(failures, 0);
  EXPECT_LT(worst, 2000) << "the hub answered slowly during the fork bomb";
  // The playground's runner survived and runs the next program normally.
  auto next = Python("report(ok=True)\n");
  EXPECT_EQ(next.status, "ok") << Describe(next);
  // The other playground was not starved of processes.
  EXPECT_TRUE(bomb_still_running) << "the bomb ended before the other playground's run";
  EXPECT_EQ(by.status, "ok") << Describe(by);
  // Docker: RLIMIT_NPROC counts per uid host-wide; each docker playground
  // runs as its own uid (docker::ContainerUid), so the bomb's count is its own.
  EXPECT_EQ(by.Int("forked"), 8) << Describe(by);
}

TEST_P(ResourcesTest, MemoryHogIsKilledAtTheMemoryLimit) {
  const std::string code = R"PY(
chunks = []
while True:
    chunks.append(b"x" * (4 << 20))  # touched: every page is resident
)PY";
  auto r = Python(code, R"({"memory_kb": 65536, "wall_ms": 20000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "memory_exceeded") << Describe(r);
  EXPECT_GE(r.peak_memory_kb, 40000) << Describe(r);
  if (local()) {
    EXPECT_LE(r.peak_memory_kb, 65536 + 1024) << "the cgroup limit is hard" << Describe(r);
  }
  EXPECT_LT(r.wall_ms, 15000) << Describe(r);
}

TEST_P(ResourcesTest, MemoryHogSpreadOverProcessesIsKilledAtTheTreesLimit) {
  // Four children of 24 MiB each: no single process is over 64 MiB, the
  // tree is. Local: the run's memory cgroup. Docker (process isolation):
  // the runner's watchdog sums the tree's RSS.
  const std::string code = R"PY(
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        hold = b"y" * (24 << 20)
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
# The first child to end is the one the OOM killer chose: give up then.
pid, st = os.wait()
sys.exit(3 if os.WIFSIGNALED(st) else 0)
)PY";
  auto r = Python(code, R"({"memory_kb": 65536, "wall_ms": 20000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "memory_exceeded") << Describe(r);
  if (local()) {
    EXPECT_LE(r.peak_memory_kb, 65536 + 1024) << "the cgroup limit is hard" << Describe(r);
  }
  EXPECT_LT(r.wall_ms, 15000) << Describe(r);
}

TEST_P(ResourcesTest, CpuSpinTimesOutAtTheCpuLimit) {
  auto r = Python("while True:\n    pass\n", R"({"cpu_ms": 1000, "wall_ms": 20000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "timed_out") << Describe(r);
  // The reported CPU time is sampled (cgroup or /proc at the last poll):
  // it may trail the 1000 ms at which the limit fired.
  EXPECT_GE(r.cpu_ms, 500) << Describe(r);
  EXPECT_LT(r.wall_ms, 15000) << "the CPU limit, not the wall limit, must end it" << Describe(r);
}

TEST_P(ResourcesTest, CpuSpinInManyProcessesTimesOutOnTheTreesCpuTime) {
  // Four spinning processes: each stays under the per-process 1 s, the tree
  // does not (local: the init polls the cgroup; docker: the watchdog sums
  // the tree's CPU time).
  const std::string code = R"PY(
for i in range(3):
    if os.fork() == 0:
        break
t0 = time.process_time()
while time.process_time() - t0 < 0.8:
    pass
time.sleep(30)
)PY";
  auto r = Python(code, R"({"cpu_ms": 1500, "wall_ms": 25000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "timed_out") << Describe(r);
  EXPECT_LT(r.wall_ms, 20000) << "the tree's CPU time, not the wall limit, must end it" << Describe(r);
}

TEST_P(ResourcesTest, SleepingForeverTimesOutAtTheWallLimit) {
  auto r = Python("time.sleep(3600)\n", R"({"wall_ms": 1500})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "timed_out") << Describe(r);
  EXPECT_GE(r.wall_ms, 1400) << Describe(r);
  EXPECT_LT(r.wall_ms, 8000) << Describe(r);
}

TEST_P(ResourcesTest, OutputFloodIsCutAtTheCapAndKilled) {
  const std::string code = R"PY(
chunk = "A" * 65536
while True:
    sys.stdout.write(chunk)
    sys.stderr.write("B" * 1000)
)PY";
  auto r = Python(code, R"({"output_bytes": 100000, "wall_ms": 20000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "output_exceeded") << Describe(r);
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.out.size() + r.err.size(), 100000u) << Describe(r);
  EXPECT_EQ(r.out.find_first_not_of('A'), std::string::npos);
  EXPECT_EQ(r.err.find_first_not_of('B'), std::string::npos);
  EXPECT_LT(r.wall_ms, 15000) << Describe(r);
}

TEST_P(ResourcesTest, OneFileStopsAtTheFileSizeLimit) {
  // RLIMIT_FSIZE: enforced by both orchestrators (Python ignores SIGXFSZ,
  // so the write fails with EFBIG instead of the signal killing it).
  const std::string code = R"PY(
written = 0
err = None
fd = os.open("/tmp/big.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
try:
    while True:
        written += os.write(fd, b"\0" * 65536)
except OSError as e:
    err = ename(e.errno)
os.close(fd)
os.unlink("/tmp/big.bin")
report(errno=err, written=written)
)PY";
  auto r = Python(code, R"({"file_size_kb": 1024})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.Str("errno"), "EFBIG") << Describe(r);
  EXPECT_EQ(r.Int("written"), 1 << 20) << Describe(r);
}

TEST_P(ResourcesTest, TmpFillStopsAtItsSize) {
  // Local: each run has a private tmpfs /tmp of 64 MiB (in the run's memory
  // cgroup). Docker: runs share the runner container's tmpfs /tmp (a
  // quarter of the container's memory limit, at most 256 MiB); the program
  // removes its files so the next run finds the space again.
  const std::string code = R"PY(
import shutil
d = "/tmp/fill-" + str(os.getpid())
os.makedirs(d)
written = 0
err = None
block = b"\1" * (1 << 20)
try:
    i = 0
    while written < (1 << 30):
        fd = os.open(d + "/f" + str(i), os.O_WRONLY | os.O_CREAT)
        try:
            for _ in range(8):
                written += os.write(fd, block)
        finally:
            os.close(fd)
        i += 1
except OSError as e:
    err = ename(e.errno)
finally:
    shutil.rmtree(d, ignore_errors=True)
report(errno=err, written=written)
)PY";
  auto r = Python(code, R"({"memory_kb": 524288, "wall_ms": 30000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  EXPECT_EQ(r.Str("errno"), "ENOSPC") << Describe(r);
  EXPECT_LE(r.Int("written"), local() ? (64 << 20) : (256 << 20)) << Describe(r);
  EXPECT_GT(r.Int("written"), 0) << Describe(r);
}

TEST_P(ResourcesTest, DiskFillStopsAtTheQuotaOfThatPlaygroundOnly) {
  // A playground with a 16 MiB volume is filled with 4 MiB files (each
  // under the per-file limit). The program gives up at 48 MiB so that an
  // unenforced quota cannot fill the host's disk.
  std::string small = CreatePlayground(R"({"disk_mb": 16})");
  ASSERT_FALSE(small.empty());
  const std::string code = R"PY(
written = 0
err = None
block = b"\1" * (1 << 20)
try:
    i = 0
    while written < (48 << 20):
        fd = os.open("/workspace/fill" + str(i), os.O_WRONLY | os.O_CREAT)
        try:
            for _ in range(4):
                written += os.write(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
        i += 1
except OSError as e:
    err = ename(e.errno)
report(errno=err, written=written)
)PY";
  auto r = Python(code, R"({"wall_ms": 30000})", small);
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  EXPECT_EQ(r.status, "ok") << Describe(r);
  const std::string err = r.Str("errno");
  // The full playground still serves its files; another playground (on its
  // own volume) still writes, and sees nothing of the full one.
  int status = 0;
  FileOf(small, "fill0", &status);
  EXPECT_EQ(status, 200);
  auto other = Python(R"PY(
with open("/workspace/after-fill.bin", "wb") as f:
    f.write(b"\2" * (8 << 20))
    f.flush()
    os.fsync(f.fileno())
os.unlink("/workspace/after-fill.bin")
report(wrote=True, sees_fill=os.path.exists("/workspace/fill0"))
)PY");
  EXPECT_EQ(other.status, "ok") << Describe(other);
  EXPECT_TRUE(other.Bool("wrote")) << Describe(other);
  EXPECT_FALSE(other.Bool("sees_fill")) << Describe(other);
  if (!local() && err.empty()) {
    // docs/docker.md: disk_mb was not enforced by the docker orchestrator
    // (the local volume driver has no size option); the per-file limit
    // (OneFileStopsAtTheFileSizeLimit) and the bounded /tmp
    // (TmpFillStopsAtItsSize) hold there regardless.
    GTEST_SKIP() << "known bug (issue 7): disk_mb is not enforced in docker playgrounds: " << Describe(r);
  }
  EXPECT_TRUE(err == "ENOSPC" || err == "EDQUOT") << Describe(r);
  EXPECT_LE(r.Int("written"), 16 << 20) << Describe(r);
  EXPECT_GE(r.Int("written"), 4 << 20) << Describe(r);
}

TEST_P(ResourcesTest, SetsidDoubleForkDaemonDiesWithTheRun) {
  const std::string marker = "daemon-" + orchestrator() + ".txt";
  const std::string code = R"PY(
marker = "/workspace/)PY" + marker + R"PY("
if os.fork() == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    while True:
        os.write(fd, b"x")
        time.sleep(0.02)
os.wait()
time.sleep(0.3)
report(started=os.path.getsize(marker) > 0)
)PY";
  auto r = Python(code, R"({"wall_ms": 10000})");
  EXPECT_EQ(r.status, "ok") << Describe(r);
  ExpectDaemonDies(marker, r);
}

TEST_P(ResourcesTest, DaemonHoldingStdoutDiesAndDoesNotHangTheRun) {
  // The same daemon keeps the run's stdout open: the run still ends when
  // the main process does.
  const std::string marker = "daemon-out-" + orchestrator() + ".txt";
  const std::string code = R"PY(
marker = "/workspace/)PY" + marker + R"PY("
if os.fork() == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    while True:
        os.write(fd, b"x")
        time.sleep(0.02)
os.wait()
time.sleep(0.3)
report(started=os.path.getsize(marker) > 0)
)PY";
  auto r = Python(code, R"({"wall_ms": 20000})");
  EXPECT_EQ(r.status, "ok") << Describe(r);
  EXPECT_LT(r.wall_ms, 10000) << Describe(r);
  ExpectDaemonDies(marker, r);
}

INSTANTIATE_TEST_SUITE_P(Orchestrators, ResourcesTest, ::testing::Values("local", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pg::testing::hostile
