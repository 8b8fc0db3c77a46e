// make bench: the playground lifecycle through a real hub (local
// orchestrator): create→ready and delete latency, from the warm pool (the
// default: each create takes a playground made ahead of time) and cold
// (--warm-pool 0), the memory of one idle playground, beside a bare
// fork/exec and a bare `unshare` of the same namespaces, all in one run.
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "bench_util.h"
#include "testing/hub_process.h"
#include "testing/testing.h"

using namespace pg;

namespace {

// Warm slots of the hub using `data_dir` whose two servers run.
size_t ReadySlots(const std::string& data_dir) {
  std::set<std::string> ids;
  if (DIR* d = opendir((data_dir + "/run").c_str())) {
    while (struct dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() == 27 && name[0] == '.' && testing::ProcessesOfPlayground(name.substr(1)).size() >= 2)
        ids.insert(name);
    }
    closedir(d);
  }
  return ids.size();
}

struct Lifecycle {
  std::vector<double> create_ms, delete_ms;
  bench::Memory idle;
  size_t idle_processes = 0;
  bool ok = false;
};

// `n` creates then `n` deletes. With a pool, each create waits (untimed)
// until the pool is full again: the figure is a create that finds a slot.
Lifecycle Measure(const std::string& orch, int n, int pool) {
  Lifecycle out;
  testing::TempDir dir;
  testing::HubProcess hub(dir.path(), {"--orchestrator", orch, "--log-level", "warn", "--rate-limit-api", "0",
                                       "--warm-pool", std::to_string(pool)});
  if (!hub.Start()) {
    std::fprintf(stderr, "hub did not start:\n%s\n", hub.log().c_str());
    return out;
  }
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    for (int w = 0; w < 600 && pool > 0 && ReadySlots(dir.path()) < static_cast<size_t>(pool); ++w)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto t0 = std::chrono::steady_clock::now();
    auto r = hub.Call("POST", "/api/v1/playgrounds", R"({"template":"python"})");
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r.status != 201 || !r.json.is_object() || r.json.at("status") != "running") {
      std::fprintf(stderr, "create failed: %d %s\n", r.status, r.body.c_str());
      return out;
    }
    out.create_ms.push_back(ms);
    ids.push_back(std::string(r.json.at("id").as_string()));
  }
  // Memory of one idle playground (both containers), after it settled.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto pids = testing::ProcessesOfPlayground(ids.front());
  out.idle = bench::MemoryOf(pids);
  out.idle_processes = pids.size();
  for (const auto& id : ids) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = hub.Call("DELETE", "/api/v1/playgrounds/" + id);
    out.delete_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (r.status != 204) std::fprintf(stderr, "delete failed: %d %s\n", r.status, r.body.c_str());
  }
  hub.Terminate();
  out.ok = true;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  std::string orch = argc > 2 ? argv[2] : "local";
  int cold_n = std::min(n, 30);
  Lifecycle warm;
  if (orch == "local") warm = Measure(orch, n, 2);
  Lifecycle cold = Measure(orch, cold_n, 0);
  if ((orch == "local" && !warm.ok) || !cold.ok) return 1;

  std::vector<double> bare, unshare;
  for (int i = 0; i < n; ++i) {
    bare.push_back(bench::TimeCommand({"/bin/true"}));
    unshare.push_back(bench::TimeCommand({"unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount",
                                          "--net", "--ipc", "--uts", "--cgroup", "/bin/true"}));
  }
  auto b = bench::Summarize(bare), u = bench::Summarize(unshare);
  std::printf("playground lifecycle, %s orchestrator (ms)\n", orch.c_str());
  std::vector<std::vector<std::string>> rows;
  auto row = [&](const std::string& what, const std::vector<double>& v, const std::string& target) {
    auto s = bench::Summarize(v);
    rows.push_back({what + " (n=" + std::to_string(v.size()) + ")", bench::Fmt(s.p50), bench::Fmt(s.p99), target});
  };
  if (warm.ok) {
    row("create -> ready, warm pool (default)", warm.create_ms, "p50<=20 p99<=50");
    row("delete, warm-pool hub", warm.delete_ms, "");
  }
  row("create -> ready, cold (--warm-pool 0)", cold.create_ms, "");
  row("delete, cold hub", cold.delete_ms, "");
  rows.push_back({"bare fork/exec /bin/true", bench::Fmt(b.p50), bench::Fmt(b.p99), "peer"});
  rows.push_back({"unshare (same namespaces) /bin/true", bench::Fmt(u.p50), bench::Fmt(u.p99), "peer"});
  bench::PrintTable({"what", "p50 ms", "p99 ms", "target"}, rows);
  const Lifecycle& m = warm.ok ? warm : cold;
  std::printf("\nidle playground memory (%zu processes, both containers)\n", m.idle_processes);
  bench::PrintTable({"what", "KiB", "target"},
                    {{"RSS total (counts the binary and libc pages every playground shares)",
                      std::to_string(m.idle.rss_kb), "<= 8192"},
                     {"PSS total (shared pages split among their users)", std::to_string(m.idle.pss_kb), ""},
                     {"USS total (private pages: what one more playground costs)", std::to_string(m.idle.uss_kb),
                      ""}});
  return 0;
}
