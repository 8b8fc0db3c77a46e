// Limits: memory, processes, CPU and wall time, file size; accounting.
#include <gtest/gtest.h>
#include <unistd.h>

#include "sandbox_testing.h"

namespace pg::sandbox {
namespace {

using testing::RunSandbox;
using testing::Shell;

TEST(Limits, HostUsesCgroupsHere) {
  // This machine runs the tests as root with cgroup controllers mounted.
  const auto& caps = HostCapabilities();
  EXPECT_TRUE(caps.cgroups) << caps.detail;
  EXPECT_NE(caps.cgroup_mode, "none");
}

TEST(Limits, MemoryHogIsKilled) {
  Spec s;
  s.argv = {"python3", "-c", "x = []\nwhile True: x.append(bytearray(1 << 20))\n"};
  s.limits.memory_bytes = 64ll << 20;
  s.limits.wall_time_ms = 20000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.memory_exceeded) << r->err;
  EXPECT_EQ(r->outcome.signal, SIGKILL);
  EXPECT_FALSE(r->outcome.timed_out);
  EXPECT_GT(r->outcome.peak_memory_kb, 32 << 10);
  EXPECT_LE(r->outcome.peak_memory_kb, 66 << 10);
}

TEST(Limits, ForkBombHitsPidsLimit) {
  Spec s = Shell("i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; wait");
  s.limits.pids = 20;
  s.limits.wall_time_ms = 3000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.pids_exceeded) << r->err;
  // The host still forks fine.
  Spec t;
  t.argv = {"/bin/true"};
  auto again = RunSandbox(t);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome.exit_code, 0);
}

TEST(Limits, RealForkBombIsContained) {
  // The bomb starts in a subshell and the main shell then execs: it needs
  // no fork once the bomb runs (dash exits with "Cannot fork" when a fork of
  // its own loses the race for the last pids, which ended the tree early).
  Spec s = Shell("(f() { f | f & }; f); exec sleep 2");
  s.limits.pids = 50;
  s.limits.wall_time_ms = 2000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.pids_exceeded);
  EXPECT_TRUE(r->outcome.timed_out) << "exit " << r->outcome.exit_code << " signal " << r->outcome.signal << ": "
                                    << r->err.substr(0, 300);
  EXPECT_LT(r->outcome.wall_ms, 6000);
}

TEST(Limits, WallTime) {
  Spec s = Shell("sleep 30");
  s.limits.wall_time_ms = 300;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.timed_out);
  EXPECT_EQ(r->outcome.signal, SIGKILL);
  EXPECT_GE(r->outcome.wall_ms, 250);
  EXPECT_LT(r->outcome.wall_ms, 3000);
}

TEST(Limits, CpuTimeOfOneProcess) {
  Spec s;
  s.argv = {"python3", "-c", "while True: pass"};
  s.limits.cpu_time_ms = 500;
  s.limits.wall_time_ms = 20000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.timed_out);
  EXPECT_GE(r->outcome.cpu_ms, 400);
  EXPECT_LT(r->outcome.wall_ms, 10000);
}

TEST(Limits, CpuTimeOfManyProcesses) {
  // Each process stays under RLIMIT_CPU; the tree's total does not.
  Spec s = Shell("for i in 1 2 3 4; do (while :; do :; done) & done; wait");
  s.limits.cpu_time_ms = 1000;
  s.limits.wall_time_ms = 30000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->outcome.timed_out);
  EXPECT_GE(r->outcome.cpu_ms, 900);
  EXPECT_LT(r->outcome.cpu_ms, 2500);
}

TEST(Limits, CpuQuotaSlowsDown) {
  Spec s;
  s.argv = {"python3", "-c", "import time\nt = time.time()\nwhile time.time() - t < 1: pass\n"};
  s.limits.cpu_quota_millis = 200;  // a fifth of a core
  s.limits.wall_time_ms = 10000;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_LT(r->outcome.cpu_ms, 500) << "1 s of wall time at 20% of a core";
}

TEST(Limits, FileSize) {
  Spec s = Shell("head -c 2000000 /dev/zero > /tmp/big; echo rc=$?; wc -c < /tmp/big");
  s.limits.file_size_bytes = 1 << 20;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->out.find("1048576"), std::string::npos) << r->out << r->err;
  EXPECT_EQ(r->out.find("rc=0"), std::string::npos) << r->out;
}

TEST(Limits, TmpIsSizeCapped) {
  Spec s = Shell("head -c 3000000 /dev/zero > /tmp/big; echo rc=$?");
  s.limits.tmp_size_bytes = 1 << 20;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->err.find("No space left"), std::string::npos) << r->err;
}

TEST(Limits, OpenFiles) {
  Spec s;
  s.argv = {"python3", "-c",
            "import os\nfds = []\ntry:\n  while True: fds.append(os.open('/dev/null', os.O_RDONLY))\n"
            "except OSError as e: print(len(fds) < 40, e.errno)\n"};
  s.limits.open_files = 32;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "True 24\n") << r->err;
}

TEST(Limits, UsageWhileRunning) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  Spec s;
  s.argv = {"python3", "-c", "import time\nx = bytearray(40 << 20)\nwhile time.process_time() < 0.5: pass\nprint('done', flush=True)\ntime.sleep(5)\n"};
  s.stdout_fd = out[1];
  auto p = Launch(s);
  close(out[1]);
  ASSERT_TRUE(p.ok()) << p.error().message;
  char buf[16];
  ASSERT_GT(read(out[0], buf, sizeof buf), 0);
  close(out[0]);
  Outcome u = (*p)->Usage();
  EXPECT_GE(u.cpu_ms, 300);
  EXPECT_GE(u.peak_memory_kb, 40 << 10);
  (*p)->Kill();
  auto o = (*p)->Wait();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->signal, SIGKILL);
}

}  // namespace
}  // namespace pg::sandbox
