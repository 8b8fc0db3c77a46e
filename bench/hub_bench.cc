// make bench: the playground lifecycle through a real hub (local
// orchestrator): create→ready and delete latency over N playgrounds, the
// memory of one idle playground, beside a bare fork/exec and a bare
// `unshare` of the same namespaces, measured in the same run.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench_util.h"
#include "testing/hub_process.h"
#include "testing/testing.h"

using namespace pg;

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  std::string orch = argc > 2 ? argv[2] : "local";
  testing::TempDir dir;
  testing::HubProcess hub(dir.path(), {"--orchestrator", orch, "--log-level", "warn"});
  if (!hub.Start()) {
    std::fprintf(stderr, "hub did not start:\n%s\n", hub.log().c_str());
    return 1;
  }
  std::vector<double> create_ms, delete_ms;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = hub.Call("POST", "/api/v1/playgrounds", R"({"template":"python"})");
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r.status != 201 || !r.json.is_object() || r.json.at("status") != "running") {
      std::fprintf(stderr, "create failed: %d %s\n", r.status, r.body.c_str());
      return 1;
    }
    create_ms.push_back(ms);
    ids.push_back(std::string(r.json.at("id").as_string()));
  }
  // Memory of one idle playground (both containers), after it settled.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto pids = testing::ProcessesOfPlayground(ids.front());
  auto mem = bench::MemoryOf(pids);
  for (const auto& id : ids) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = hub.Call("DELETE", "/api/v1/playgrounds/" + id);
    delete_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (r.status != 204) std::fprintf(stderr, "delete failed: %d %s\n", r.status, r.body.c_str());
  }
  hub.Terminate();

  std::vector<double> bare, unshare;
  for (int i = 0; i < n; ++i) {
    bare.push_back(bench::TimeCommand({"/bin/true"}));
    unshare.push_back(bench::TimeCommand({"unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount",
                                          "--net", "--ipc", "--uts", "--cgroup", "/bin/true"}));
  }
  auto c = bench::Summarize(create_ms), d = bench::Summarize(delete_ms), b = bench::Summarize(bare),
       u = bench::Summarize(unshare);
  std::printf("playground lifecycle, %s orchestrator, %d playgrounds (ms)\n", orch.c_str(), n);
  bench::PrintTable({"what", "p50 ms", "p99 ms", "target"},
                    {{"create -> ready (hub API)", bench::Fmt(c.p50), bench::Fmt(c.p99), "p50<=20 p99<=50"},
                     {"delete (hub API)", bench::Fmt(d.p50), bench::Fmt(d.p99), ""},
                     {"bare fork/exec /bin/true", bench::Fmt(b.p50), bench::Fmt(b.p99), "peer"},
                     {"unshare (same namespaces) /bin/true", bench::Fmt(u.p50), bench::Fmt(u.p99), "peer"}});
  std::printf("\nidle playground memory (%zu processes, both containers)\n", pids.size());
  bench::PrintTable({"what", "KiB", "target"},
                    {{"RSS total", std::to_string(mem.rss_kb), "<= 8192"},
                     {"PSS total (shared pages split)", std::to_string(mem.pss_kb), ""}});
  return 0;
}
