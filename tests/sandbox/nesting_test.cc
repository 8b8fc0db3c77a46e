// Nesting: a tree launched with allow_nesting (the runner container) starts
// sandboxes of its own (the runs) with their own limits, inside its delegated
// cgroup; a tree without it cannot.
//
// The nested launcher is this test binary itself, bound into the outer
// sandbox: with $PG_SANDBOX_NESTED_CHILD set it launches `sh -c
// $INNER_SCRIPT` with the limits from the environment and prints the outcome
// instead of running tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "sandbox_testing.h"

namespace pg::sandbox {
namespace {

int64_t EnvInt(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : 0;
}

int NestedMain() {
  Spec s;
  s.argv = {"/bin/sh", "-c", std::getenv("INNER_SCRIPT") ? std::getenv("INNER_SCRIPT") : "true"};
  s.stdout_fd = 1;
  s.stderr_fd = 2;
  s.limits.memory_bytes = EnvInt("INNER_MEMORY");
  s.limits.pids = EnvInt("INNER_PIDS");
  s.limits.wall_time_ms = EnvInt("INNER_WALL_MS");
  s.limits.cpu_time_ms = EnvInt("INNER_CPU_MS");
  std::printf("caps: %s\n", HostCapabilities().detail.c_str());
  std::fflush(stdout);
  auto p = Launch(s);
  if (!p.ok()) {
    std::printf("launch failed: %s\n", p.error().message.c_str());
    return 3;
  }
  auto o = (*p)->Wait();
  if (!o.ok()) {
    std::printf("wait failed: %s\n", o.error().message.c_str());
    return 4;
  }
  std::printf("outcome exit=%d signal=%d timed_out=%d memory_exceeded=%d pids_exceeded=%d\n", o->exit_code,
              o->signal, o->timed_out, o->memory_exceeded, o->pids_exceeded);
  return 0;
}

[[maybe_unused]] const int nested_child = [] {
  if (!std::getenv("PG_SANDBOX_NESTED_CHILD")) return 0;
  int rc = NestedMain();
  std::fflush(stdout);
  _exit(rc);
  return 0;
}();

struct Nested {
  std::string out;
  Outcome outcome;
};

Nested RunNested(bool allow_nesting, const std::string& script, std::vector<std::string> env = {}) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  EXPECT_GT(n, 0);
  self[n > 0 ? n : 0] = 0;
  Spec s;
  s.argv = {"/opt/test/nesting_test"};
  s.mounts.push_back({self, "/opt/test/nesting_test", false});
  s.env = {"PG_SANDBOX_NESTED_CHILD=1", "INNER_SCRIPT=" + script};
  for (auto& e : env) s.env.push_back(e);
  for (const char* san : {"ASAN_OPTIONS", "UBSAN_OPTIONS"})  // sanitizer builds run this binary inside
    if (const char* v = std::getenv(san)) s.env.push_back(std::string(san) + "=" + v);
  s.allow_nesting = allow_nesting;
  s.limits.memory_bytes = 512ll << 20;
  s.limits.pids = 200;
  s.limits.wall_time_ms = 30000;
  auto r = testing::RunSandbox(s);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return {r->out + r->err, r->outcome};
}

TEST(Nesting, NestedLaunchWorks) {
  auto r = RunNested(true, "echo inner pid=$$ uid=$(id -u) host=$(hostname); ls /sys 2>&1 | head -1");
  EXPECT_EQ(r.outcome.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("inner pid=2 uid=1000 host=playground\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << "the run sees no /sys: " << r.out;
  EXPECT_NE(r.out.find("outcome exit=0 signal=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("caps: cgroups"), std::string::npos) << "delegated cgroups usable inside: " << r.out;
}

TEST(Nesting, NestedMemoryLimit) {
  auto r = RunNested(true, "exec python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'",
                     {"INNER_MEMORY=" + std::to_string(48 << 20), "INNER_WALL_MS=20000"});
  EXPECT_NE(r.out.find("memory_exceeded=1"), std::string::npos) << r.out;
}

TEST(Nesting, NestedPidsLimit) {
  auto r = RunNested(true, "i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done; wait",
                     {"INNER_PIDS=10", "INNER_WALL_MS=3000"});
  EXPECT_NE(r.out.find("pids_exceeded=1"), std::string::npos) << r.out;
}

TEST(Nesting, NestedWallLimit) {
  auto r = RunNested(true, "sleep 30", {"INNER_WALL_MS=300"});
  EXPECT_NE(r.out.find("signal=9 timed_out=1"), std::string::npos) << r.out;
  EXPECT_LT(r.outcome.wall_ms, 10000);
}

TEST(Nesting, RunsCannotNestFurther) {
  // The run (strict filter) cannot create namespaces: neither unshare(1) nor
  // a sandbox of its own.
  auto r = RunNested(true, "unshare -U true && echo unshared; unshare -n true && echo net; echo end");
  EXPECT_EQ(r.out.find("unshared"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\nnet\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("end\n"), std::string::npos) << r.out;
}

TEST(Nesting, WithoutAllowNestingLaunchFails) {
  auto r = RunNested(false, "echo should-not-run");
  EXPECT_EQ(r.out.find("should-not-run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("launch failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("caps: cgroups unavailable"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pg::sandbox
