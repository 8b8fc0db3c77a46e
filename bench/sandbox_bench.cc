// Sandbox start→exit latency: /bin/true and `python3 -c pass` in the
// playground sandbox (with cgroups, and in the rlimit-only mode) beside bare
// fork/exec, unshare(1) with the same namespaces, bubblewrap and
// `docker run --rm --network none` (when an engine and the image exist),
// interleaved round by round so every peer sees the same machine load.
// The sandbox runs cold (everything built at launch) and prewarmed
// (sandbox::SetPrewarm: namespaces, cgroup and root built ahead in the
// background; the launch sends what to run).
// Usage: sandbox_bench [rounds]   (default 40; docker gets at most 10)
// python3 is /usr/bin/python3 everywhere (a PATH lookup could hit a shim).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "sandbox/sandbox.h"

namespace {

using pg::bench::Fmt;
using pg::bench::TimeCommand;

double TimeSandbox(const std::vector<std::string>& argv, bool cgroups, bool prewarmed) {
  pg::sandbox::Spec s;
  s.argv = argv;
  s.use_prewarmed = prewarmed;
  if (cgroups) {
    s.limits.memory_bytes = 256ll << 20;
    s.limits.pids = 64;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto p = pg::sandbox::Launch(s);
  if (!p.ok()) {
    std::fprintf(stderr, "sandbox: %s\n", p.error().message.c_str());
    return -1;
  }
  auto o = (*p)->Wait();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return o.ok() && o->exit_code == 0 ? ms : -1;
}

bool Works(const std::vector<std::string>& argv) { return TimeCommand(argv) >= 0; }

struct Peer {
  std::string name;
  std::function<double(const std::vector<std::string>&)> run;
  int max_rounds = 1 << 30;
  std::vector<double> times[2];
  int failures = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 40;
  const std::vector<std::vector<std::string>> programs = {{"/bin/true"}, {"/usr/bin/python3", "-c", "pass"}};
  std::vector<Peer> peers;
  peers.push_back({"bare fork/exec", [](const auto& a) { return TimeCommand(a); }});
  const bool cg = pg::sandbox::HostCapabilities().cgroups;
  const std::string mode = cg ? "cgroups" : "rlimits";
  peers.push_back({"playground sandbox (" + mode + ")", [cg](const auto& a) { return TimeSandbox(a, cg, false); }});
  // Two prewarmed sandboxes per shape (one per program of a round), refilled in the background while the
  // other peers of the round run (a launch finding none ready goes cold and
  // is counted here as it is).
  pg::sandbox::SetPrewarm(2);
  peers.push_back({"playground sandbox (" + mode + ", prewarmed)",
                   [cg](const auto& a) { return TimeSandbox(a, cg, true); }});
  std::vector<std::string> unshare = {"unshare", "--user", "--map-user=1000", "--pid", "--fork", "--mount",
                                      "--net", "--ipc", "--uts", "--cgroup"};
  if (Works([&] { auto v = unshare; v.push_back("/bin/true"); return v; }()))
    peers.push_back({"unshare -U -p -m -n -i -u -C", [unshare](const auto& a) {
                       auto v = unshare;
                       v.insert(v.end(), a.begin(), a.end());
                       return TimeCommand(v);
                     }});
  std::vector<std::string> bwrap = {"bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
                                    "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                                    "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                                    "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache", "--ro-bind",
                                    "/etc/alternatives", "/etc/alternatives", "--proc", "/proc", "--dev", "/dev",
                                    "--tmpfs", "/tmp", "--uid", "1000", "--gid", "1000"};
  if (Works([&] { auto v = bwrap; v.push_back("/bin/true"); return v; }()))
    peers.push_back({"bwrap (same root)", [bwrap](const auto& a) {
                       auto v = bwrap;
                       v.insert(v.end(), a.begin(), a.end());
                       return TimeCommand(v);
                     }});
  std::string docker_note;
  if (Works({"docker", "info"})) {
    if (Works({"docker", "image", "inspect", "playground-base:latest"})) {
      peers.push_back({"docker run --rm --network none",
                       [](const auto& a) {
                         std::vector<std::string> v = {"docker", "run", "--rm", "--network", "none",
                                                       "playground-base:latest"};
                         v.insert(v.end(), a.begin(), a.end());
                         // The image's own python3 (its path may differ from the host's).
                         if (v[6] == "/usr/bin/python3") v[6] = "python3";
                         return TimeCommand(v);
                       },
                       10});
    } else {
      docker_note = "docker: skipped (no playground-base:latest image; scripts/build-images.sh)";
    }
  } else {
    docker_note = "docker: skipped (docker info fails: no engine)";
  }

  // Warm-up, then interleave.
  for (auto& p : peers)
    for (const auto& prog : programs) (void)p.run(prog);
  for (int r = 0; r < rounds; ++r)
    for (auto& p : peers)
      for (size_t i = 0; i < programs.size(); ++i) {
        if (r >= p.max_rounds) continue;
        double ms = p.run(programs[i]);
        if (ms < 0) {
          ++p.failures;
        } else {
          p.times[i].push_back(ms);
        }
      }

  std::printf("sandbox start->exit latency, %d rounds, %s\n", rounds,
              pg::sandbox::HostCapabilities().detail.c_str());
  auto base = pg::bench::Summarize(peers[0].times[0]);
  std::vector<std::vector<std::string>> rows;
  for (auto& p : peers) {
    auto t = pg::bench::Summarize(p.times[0]);
    auto py = pg::bench::Summarize(p.times[1]);
    rows.push_back({p.name, Fmt(t.p50), Fmt(t.p99), "+" + Fmt(t.p50 - base.p50), Fmt(py.p50), Fmt(py.p99),
                    std::to_string(p.failures)});
  }
  pg::bench::PrintTable({"runner", "/bin/true p50 ms", "p99 ms", "over bare p50", "python3 -c pass p50 ms",
                         "p99 ms", "failures"},
                        rows);
  if (!docker_note.empty()) std::printf("%s\n", docker_note.c_str());
  return 0;
}
