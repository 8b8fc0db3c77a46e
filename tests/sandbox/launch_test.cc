// Launch basics: programs run, see a new root, new namespaces, uid 1000.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "sandbox/internal.h"
#include "sandbox_testing.h"
#include "testing/testing.h"

namespace pg::sandbox {
namespace {

using testing::RunSandbox;
using testing::Shell;

TEST(Launch, TrueExitsZero) {
  Spec s;
  s.argv = {"/bin/true"};
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_EQ(r->outcome.signal, 0);
}

TEST(Launch, FalseExitsOne) {
  Spec s;
  s.argv = {"false"};  // found through PATH inside
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 1);
}

TEST(Launch, PythonRuns) {
  Spec s;
  s.argv = {"python3", "-c", "import sys, json, ssl; print(json.dumps([1, 2]))"};
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "[1, 2]\n");
}

TEST(Launch, MissingProgramIsAnError) {
  Spec s;
  s.argv = {"/usr/bin/no-such-program"};
  auto r = Launch(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "exec_failed");
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;
}

TEST(Launch, BadSpecsAreErrors) {
  Spec empty;
  EXPECT_EQ(Launch(empty).error().status, 400);
  Spec rel = Shell("true");
  rel.mounts.push_back({"relative/path", "/workspace", true});
  EXPECT_EQ(Launch(rel).error().status, 400);
  Spec dots = Shell("true");
  dots.mounts.push_back({"/tmp", "/workspace/../etc", true});
  EXPECT_EQ(Launch(dots).error().status, 400);
  Spec missing = Shell("true");
  missing.mounts.push_back({"/no/such/dir", "/workspace", true});
  EXPECT_EQ(Launch(missing).error().status, 400);
  Spec proc = Shell("true");
  proc.mounts.push_back({"/tmp", "/proc/x", true});
  EXPECT_EQ(Launch(proc).error().status, 400);
  Spec cwd = Shell("true");
  cwd.cwd = "/no/such/dir";
  auto r = Launch(cwd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chdir"), std::string::npos) << r.error().message;
  Spec cg = Shell("true");
  cg.cgroup = "../escape";
  EXPECT_EQ(Launch(cg).error().status, 400);
  Spec fd = Shell("true");
  fd.inherit_fd = 1;
  EXPECT_EQ(Launch(fd).error().status, 400);
}

TEST(Launch, WorkspaceIsReadWrite) {
  pg::testing::TempDir dir;
  std::ofstream(dir.path() + "/in.txt") << "hello";
  chmod(dir.path().c_str(), 0777);
  Spec s = Shell("cat /workspace/in.txt && echo written > /workspace/out.txt && ls -ld /workspace >&2");
  s.mounts.push_back({dir.path(), "/workspace", true});
  s.cwd = "/workspace";
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "hello");
  std::ifstream in(dir.path() + "/out.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "written");
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/out.txt").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "files written inside must not belong to host root";
}

TEST(Launch, ReadOnlyBindCannotBeWritten) {
  pg::testing::TempDir dir;
  chmod(dir.path().c_str(), 0777);
  Spec s = Shell("echo x > /data/f");
  s.mounts.push_back({dir.path(), "/data", false});
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->outcome.exit_code, 0);
  EXPECT_NE(r->err.find("Read-only"), std::string::npos) << r->err;
}

TEST(Launch, FileBindMount) {
  pg::testing::TempDir dir;
  std::ofstream(dir.path() + "/tool") << "#!/bin/sh\necho tool-ran\n";
  chmod((dir.path() + "/tool").c_str(), 0755);
  Spec s;
  s.argv = {"/opt/playground/tool"};
  s.mounts.push_back({dir.path() + "/tool", "/opt/playground/tool", false});
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "tool-ran\n") << r->err;
}

TEST(Launch, NewNamespaces) {
  Spec s = Shell(
      "echo pid=$$; hostname; id -u; id -g; "
      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; "
      "cat /proc/self/uid_map | tr -s ' '; ls /proc | grep -c '^[0-9]'");
  s.hostname = "box";
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome.exit_code, 0) << r->err;
  // pid 1 is the sandbox's init, the main process is 2.
  EXPECT_EQ(r->out.substr(0, r->out.find('\n')), "pid=2");
  EXPECT_NE(r->out.find("\nbox\n1000\n1000\nlo\n"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("eth"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find(" 0 "), std::string::npos) << "host root must not be mapped: " << r->out;
}

TEST(Launch, LoopbackWorks) {
  Spec s;
  s.argv = {"python3", "-c",
            "import socket\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
            "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
            "c.sendall(b'ping'); print(a.recv(4).decode())\n"
            "try:\n  socket.create_connection(('1.1.1.1', 80), timeout=1); print('net')\n"
            "except OSError: print('nonet')\n"};
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "ping\nnonet\n") << r->err;
}

TEST(Launch, StdinAndInheritedFd) {
  int in[2], extra[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(pipe(extra), 0);
  ASSERT_EQ(write(in[1], "from-stdin", 10), 10);
  close(in[1]);
  ASSERT_EQ(write(extra[1], "from-fd", 7), 7);
  close(extra[1]);
  int fd = dup2(extra[0], 9);
  close(extra[0]);
  Spec s = Shell("cat; echo; cat <&9");
  s.stdin_fd = in[0];
  s.inherit_fd = fd;
  auto r = RunSandbox(s);
  close(in[0]);
  close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "from-stdin\nfrom-fd") << r->err;
}

// Prewarmed sandboxes (SetPrewarm): each launch of the same shape gets its
// own fresh sandbox (pid 2, empty private /tmp, own cgroup limits), with
// argv, environment, cwd, stdin, an inherited descriptor and the exit code
// handed over like a cold launch.
TEST(Launch, PrewarmedLaunchesAreFreshSandboxes) {
  pg::testing::TempDir dir;
  chmod(dir.path().c_str(), 0777);
  unsetenv("PG_SANDBOX_PREWARM");  // it would override the count
  SetPrewarm(1);
  const uint64_t warm_before = internal::PrewarmedLaunchCount();
  for (int i = 0; i < 6; ++i) {
    int in[2], extra[2];
    ASSERT_EQ(pipe(in), 0);
    ASSERT_EQ(pipe(extra), 0);
    ASSERT_EQ(write(in[1], "in", 2), 2);
    close(in[1]);
    ASSERT_EQ(write(extra[1], "fd", 2), 2);
    close(extra[1]);
    int fd = dup2(extra[0], 9);
    close(extra[0]);
    Spec s = Shell(
        "echo pid=$$ tmp=$(ls -A /tmp | wc -l) cwd=$(pwd) x=$X; cat; cat <&9; echo; touch /tmp/mark; "
        "ls /workspace >/dev/null; exit " + std::to_string(i));
    s.env = {"X=" + std::to_string(i)};
    s.cwd = "/workspace";
    s.mounts.push_back({dir.path(), "/workspace", true});
    s.stdin_fd = in[0];
    s.inherit_fd = fd;
    s.limits.memory_bytes = 64ll << 20;
    s.limits.pids = 16;
    auto r = RunSandbox(s);
    close(in[0]);
    close(fd);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->outcome.exit_code, i) << r->err;
    EXPECT_EQ(r->out, "pid=2 tmp=0 cwd=/workspace x=" + std::to_string(i) + "\ninfd\n") << r->err;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time to prewarm the next
  }
  // A fork bomb meets the pids limit written at take time.
  Spec bomb = Shell("for i in $(seq 40); do sleep 5 & done; wait");
  bomb.mounts.push_back({dir.path(), "/workspace", true});
  bomb.limits.pids = 8;
  bomb.limits.wall_time_ms = 3000;
  auto r = RunSandbox(bomb);
  ASSERT_TRUE(r.ok()) << r.error().message;
  if (HostCapabilities().cgroups) {
    EXPECT_TRUE(r->outcome.pids_exceeded) << r->err;
  }
  EXPECT_GE(internal::PrewarmedLaunchCount() - warm_before, 5u);
  SetPrewarm(0);
}

TEST(Launch, EnvironmentDoesNotLeak) {
  setenv("PG_SECRET_FOR_TEST", "leak", 1);
  Spec s = Shell("env");
  s.env = {"FOO=bar"};
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->out.find("FOO=bar"), std::string::npos);
  EXPECT_EQ(r->out.find("PG_SECRET"), std::string::npos) << r->out;
}

TEST(Launch, ManyInParallelThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Spec s;
        s.argv = {"/bin/true"};
        auto r = RunSandbox(s);
        if (r.ok() && r->outcome.exit_code == 0) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
}

}  // namespace
}  // namespace pg::sandbox

namespace pg::sandbox {
namespace {

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

TEST(Launch, NoDescriptorLeaks) {
  Spec warm;
  warm.argv = {"/bin/true"};
  ASSERT_TRUE(testing::RunSandbox(warm).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int before = OpenFds();
  for (int i = 0; i < 10; ++i) {
    Spec s = testing::Shell(i % 2 ? "true" : "exit 3");
    s.limits.memory_bytes = 64 << 20;
    ASSERT_TRUE(testing::RunSandbox(s).ok());
    Spec bad;
    bad.argv = {"/no/such/program"};
    ASSERT_FALSE(Launch(bad).ok());
    auto killed = Launch(testing::Shell("sleep 10"));
    ASSERT_TRUE(killed.ok());
    killed->reset();  // the destructor kills and reaps
  }
  int after = OpenFds();
  for (int i = 0; i < 100 && after > before; ++i) {  // namespace references close in the background
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = OpenFds();
  }
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace pg::sandbox

namespace pg::sandbox {
namespace {

TEST(Launch, OwnRootfs) {
  // A rootfs directory of our own (here: the host's /usr bound into it).
  pg::testing::TempDir root;
  const std::string r = root.path();
  ASSERT_EQ(chmod(r.c_str(), 0755), 0);  // the tree (uid 1000 inside) must be able to enter its root
  ASSERT_EQ(mkdir((r + "/usr").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((r + "/etc").c_str(), 0755), 0);
  for (const char* l : {"bin", "lib", "lib64", "sbin"})
    ASSERT_EQ(symlink((std::string("usr/") + l).c_str(), (r + "/" + l).c_str()), 0);
  std::ofstream(r + "/etc/marker") << "from-rootfs";
  Spec s = testing::Shell("cat /etc/marker; echo; ls /etc; touch /x 2>/dev/null || echo ro");
  s.rootfs = r;
  s.mounts.push_back({"/usr", "/usr", false});
  auto res = testing::RunSandbox(s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->out, "from-rootfs\nmarker\nro\n") << res->err;
  Spec bad = testing::Shell("true");
  bad.rootfs = r + "/missing";
  EXPECT_EQ(Launch(bad).error().status, 400);
}

}  // namespace
}  // namespace pg::sandbox
