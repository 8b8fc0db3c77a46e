// Isolation: what the tree can see, write, and call; nothing survives.
#include <gtest/gtest.h>
#include <signal.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "sandbox_testing.h"
#include "testing/testing.h"

namespace pg::sandbox {
namespace {

using testing::RunSandbox;
using testing::Shell;

std::string Python(const std::string& code) {
  Spec s;
  s.argv = {"python3", "-c", code};
  auto r = RunSandbox(s);
  if (!r.ok()) return "launch failed: " + r.error().message;
  return r->out + r->err;
}

TEST(Security, HostFilesAreInvisible) {
  Spec s = Shell(
      "for p in /root/. /etc/shadow /home /work /var /srv /old_root /boot /sys/kernel /etc/ssh /etc/sudoers; do "
      "  if [ -e $p ]; then echo visible:$p; fi; done; ls /; ls /etc | wc -l");
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out.find("visible:"), std::string::npos) << r->out;
  EXPECT_EQ(r->outcome.exit_code, 0) << r->err;
}

TEST(Security, RootCannotBeWritten) {
  Spec s = Shell(
      "for p in /x /etc/x /usr/x /bin/x /dev/x /opt/x /proc/x; do "
      "  if touch $p 2>/dev/null; then echo wrote:$p; fi; done; "
      "touch /tmp/ok && echo tmp-ok; echo x >> /etc/passwd 2>/dev/null && echo wrote:passwd; true");
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "tmp-ok\n");
}

TEST(Security, NotHostRoot) {
  // Inside: uid 1000 without capabilities; root inside is not mapped at all.
  std::string out = Python(
      "import os\n"
      "print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
      "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
      "print(open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])\n"
      "print(open('/proc/self/status').read().split('Seccomp:')[1].split()[0])\n"
      "try:\n  os.setuid(0)\nexcept OSError: print('setuid-denied')\n");
  EXPECT_EQ(out, "1000 1000 1000 []\n0000000000000000\n1\n2\nsetuid-denied\n");
}

TEST(Security, HostUidOutside) {
  pg::testing::TempDir dir;
  chmod(dir.path().c_str(), 0777);
  Spec s = Shell("touch /workspace/f");
  s.mounts.push_back({dir.path(), "/workspace", true});
  s.host_uid = 43210;
  s.host_gid = 43211;
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/f").c_str(), &st), 0) << r->err;
  EXPECT_EQ(st.st_uid, 43210u);
  EXPECT_EQ(st.st_gid, 43211u);
}

TEST(Security, SeccompDenials) {
  std::string out = Python(
      "import ctypes, os, errno\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "def t(name, nr, *args):\n"
      "  r = libc.syscall(nr, *args)\n"
      "  print(name, r, ctypes.get_errno())\n"
      "t('mount', 165, b'none', b'/tmp', b'tmpfs', 0, 0)\n"
      "t('unshare_user', 272, 0x10000000)\n"
      "t('unshare_net', 272, 0x40000000)\n"
      "t('unshare_mnt', 272, 0x00020000)\n"
      "t('clone_newuser', 56, 0x10000000 | 17, 0, 0, 0, 0)\n"
      "t('ptrace', 101, 16, 1, 0, 0)\n"
      "t('bpf', 321, 0, 0, 0)\n"
      "t('keyctl', 250, 0, 0, 0)\n"
      "t('add_key', 248, b'user', b'x', b'y', 1, -3)\n"
      "t('perf_event_open', 298, 0, 0, -1, -1, 0)\n"
      "t('setns', 308, 0, 0)\n"
      "t('pivot_root', 155, b'/tmp', b'/tmp')\n"
      "t('chroot', 161, b'/tmp')\n"
      "t('userfaultfd', 323, 0)\n"
      "t('io_uring_setup', 425, 1, 0)\n"
      "t('kexec_load', 246, 0, 0, 0, 0)\n"
      "t('init_module', 175, 0, 0, 0)\n"
      "t('personality', 135, 0x0040000)\n"
      "t('clone3', 435, 0, 0)\n"
      "print('query', libc.personality(0xffffffff) >= 0)\n"
      "print('fork', os.waitpid(os.fork() or os._exit(0), 0)[1] if False else 'ok')\n");
  for (const char* name : {"mount", "unshare_user", "unshare_net", "unshare_mnt", "clone_newuser", "ptrace", "bpf",
                           "keyctl", "add_key", "perf_event_open", "setns", "pivot_root", "chroot", "userfaultfd",
                           "io_uring_setup", "kexec_load", "init_module", "personality"})
    EXPECT_NE(out.find(std::string(name) + " -1 1\n"), std::string::npos) << name << " not denied:\n" << out;
  EXPECT_NE(out.find("clone3 -1 38\n"), std::string::npos) << out;
  EXPECT_NE(out.find("query True\n"), std::string::npos) << out;
}

TEST(Security, ThreadsAndForkStillWork) {
  std::string out = Python(
      "import threading, subprocess\n"
      "t = threading.Thread(target=lambda: print('thread'))\nt.start(); t.join()\n"
      "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip())\n");
  EXPECT_EQ(out, "thread\nchild\n");
}

TEST(Security, NothingSurvivesTheMainProcess) {
  // A setsid + double-fork daemon that would write a file every 50 ms.
  pg::testing::TempDir dir;
  chmod(dir.path().c_str(), 0777);
  Spec s = Shell(
      "setsid sh -c '(while :; do date +%s%N > /workspace/alive; sleep 0.05; done) &' </dev/null >/dev/null 2>&1; "
      "sleep 0.3; echo started");
  s.mounts.push_back({dir.path(), "/workspace", true});
  auto r = RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "started\n");
  std::string f = dir.path() + "/alive";
  struct stat st1, st2;
  ASSERT_EQ(stat(f.c_str(), &st1), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(stat(f.c_str(), &st2), 0);
  EXPECT_EQ(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec) << "the daemon still runs";
}

TEST(Security, KillEndsTheWholeTree) {
  pg::testing::TempDir dir;
  chmod(dir.path().c_str(), 0777);
  Spec s = Shell("(setsid sh -c 'while :; do touch /workspace/alive; sleep 0.05; done' &); sleep 60");
  s.mounts.push_back({dir.path(), "/workspace", true});
  auto p = Launch(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  std::string f = dir.path() + "/alive";
  for (int i = 0; i < 100 && access(f.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*p)->Kill();
  auto o = (*p)->Wait();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->signal, SIGKILL);
  unlink(f.c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_NE(access(f.c_str(), F_OK), 0) << "a process of the tree survived Kill";
}

TEST(Security, SignalIsForwarded) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  Spec s = Shell("trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done");
  s.stdout_fd = out[1];
  auto p = Launch(s);
  close(out[1]);
  ASSERT_TRUE(p.ok()) << p.error().message;
  char buf[64];
  ASSERT_GT(read(out[0], buf, sizeof buf), 0);
  (*p)->Signal(SIGTERM);
  std::string got;
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) got.append(buf, n);
  close(out[0]);
  auto o = (*p)->Wait();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(got, "got-term\n");
  EXPECT_EQ(o->exit_code, 3);
}

TEST(Security, PidfdBecomesReadable) {
  Spec s = Shell("sleep 0.2");
  auto p = Launch(s);
  ASSERT_TRUE(p.ok());
  struct pollfd pfd = {(*p)->pidfd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 5000), 1);
  auto o = (*p)->Wait();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->exit_code, 0);
}

TEST(Security, AttachAndDestroyCgroup) {
  Spec s = Shell("sleep 60");
  s.cgroup = "pgtest/attach-" + std::to_string(getpid());
  auto p = Launch(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto names = ListCgroups("pgtest");
  EXPECT_NE(std::find(names.begin(), names.end(), "attach-" + std::to_string(getpid())), names.end());
  auto a = Attach((*p)->pid(), s.cgroup);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_FALSE(Attach((*p)->pid(), "pgtest/other").ok());
  ASSERT_TRUE(DestroyCgroup(s.cgroup).ok());
  auto o = (*p)->Wait();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->signal, SIGKILL);
  auto after = ListCgroups("pgtest");
  EXPECT_EQ(std::find(after.begin(), after.end(), "attach-" + std::to_string(getpid())), after.end());
  EXPECT_TRUE(DestroyCgroup("pgtest/never-existed").ok());
}

}  // namespace
}  // namespace pg::sandbox

namespace pg::sandbox {
namespace {

TEST(Security, StopAndContinueTheTree) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  Spec s;
  s.argv = {"python3", "-c",
            "import time, sys\nfor i in range(400):\n  print(i, flush=True)\n  time.sleep(0.01)\n"};
  s.stdout_fd = out[1];
  s.limits.memory_bytes = 128 << 20;  // with a cgroup
  auto p = Launch(s);
  close(out[1]);
  ASSERT_TRUE(p.ok()) << p.error().message;
  char buf[256];
  ASSERT_GT(read(out[0], buf, sizeof buf), 0);
  (*p)->Signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  struct pollfd pfd = {out[0], POLLIN, 0};
  while (poll(&pfd, 1, 0) == 1 && read(out[0], buf, sizeof buf) > 0) {
  }
  EXPECT_EQ(poll(&pfd, 1, 300), 0) << "output while stopped";
  (*p)->Signal(SIGCONT);
  EXPECT_EQ(poll(&pfd, 1, 3000), 1) << "no output after SIGCONT";
  (*p)->Kill();
  close(out[0]);
  ASSERT_TRUE((*p)->Wait().ok());
}

}  // namespace
}  // namespace pg::sandbox
