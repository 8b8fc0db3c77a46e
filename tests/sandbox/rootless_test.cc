// Rootless fallback: launched by an unprivileged user (no cgroup access),
// the sandbox still isolates and enforces memory, processes and time with
// rlimits, and says so in HostCapabilities().detail.
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "sandbox_testing.h"

namespace pg::sandbox {
namespace {

// Runs `fn` in a child process that dropped to uid/gid 65534 first; returns
// what it wrote.
template <class Fn>
std::string AsNobody(Fn fn) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string out;
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      out = "could not drop privileges";
    } else {
      out = fn();
    }
    (void)!write(p[1], out.data(), out.size());
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return out;
}

std::string Describe(const Result<testing::RunResult>& r) {
  if (!r.ok()) return "error " + r.error().message;
  const auto& o = r->outcome;
  return "exit=" + std::to_string(o.exit_code) + " signal=" + std::to_string(o.signal) +
         " timed_out=" + std::to_string(o.timed_out) + " out=" + r->out + " err=" + r->err;
}

TEST(Rootless, DetailSaysRlimitsOnly) {
  std::string out = AsNobody([] {
    const auto& c = HostCapabilities();
    return std::string(c.cgroups ? "cgroups" : "nocgroups") + "|" + c.detail;
  });
  EXPECT_EQ(out.rfind("nocgroups|cgroups unavailable", 0), 0u) << out;
  EXPECT_NE(out.find("rlimits only"), std::string::npos) << out;
}

TEST(Rootless, IsolationHolds) {
  std::string out = AsNobody([] {
    auto r = testing::RunSandbox(testing::Shell("id -u; echo pid=$$; ls /root/. /etc/shadow 2>&1 | wc -l; touch /x 2>&1"));
    return Describe(r);
  });
  EXPECT_NE(out.find("out=1000\npid=2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
}

TEST(Rootless, MemoryLimitByRlimit) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RLIMIT_AS and AddressSanitizer's shadow memory cannot coexist (ASan cannot mmap)";
#endif
  std::string out = AsNobody([] {
    Spec s;
    s.argv = {"python3", "-c", "x = bytearray(200 << 20)\nprint('allocated')"};
    s.limits.memory_bytes = 64ll << 20;
    return Describe(testing::RunSandbox(s));
  });
  EXPECT_EQ(out.find("allocated"), std::string::npos) << out;
  EXPECT_NE(out.find("MemoryError"), std::string::npos) << out;
}

TEST(Rootless, PidsLimitByRlimit) {
  std::string out = AsNobody([] {
    Spec s = testing::Shell("i=0; while [ $i -lt 50 ]; do sleep 2 & i=$((i+1)); done; wait; echo done");
    s.limits.pids = 10;
    s.limits.wall_time_ms = 5000;
    return Describe(testing::RunSandbox(s));
  });
  EXPECT_NE(out.find("fork"), std::string::npos) << out;  // "Cannot fork" / "fork: Resource temporarily unavailable"
}

TEST(Rootless, TimeLimits) {
  std::string out = AsNobody([] {
    Spec s;
    s.argv = {"python3", "-c", "while True: pass"};
    s.limits.cpu_time_ms = 500;
    std::string a = Describe(testing::RunSandbox(s));
    Spec w = testing::Shell("sleep 10");
    w.limits.wall_time_ms = 300;
    return a + "|" + Describe(testing::RunSandbox(w));
  });
  auto bar = out.find('|');
  ASSERT_NE(bar, std::string::npos) << out;
  EXPECT_NE(out.substr(0, bar).find("timed_out=1"), std::string::npos) << out;
  EXPECT_NE(out.substr(bar).find("timed_out=1"), std::string::npos) << out;
}

}  // namespace
}  // namespace pg::sandbox
