// make bench (router): the route lookup time of the hub's RouteTable with
// 10, 1,000 and 100,000 playgrounds (hits and misses), in one table.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "hub/routes.h"

int main() {
  std::printf("%-28s %12s %12s\n", "route lookup", "hit ns/op", "miss ns/op");
  for (int n : {10, 1000, 100000}) {
    pg::hub::RouteTable table;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(pg::NewPlaygroundId());
      pg::orchestrator::Backends b;
      b.workspace = pg::Endpoint::Unix("/run/pg/" + ids.back() + "/workspace.sock");
      b.runner = pg::Endpoint::Unix("/run/pg/" + ids.back() + "/runner.sock");
      table.Set(ids.back(), b);
    }
    std::vector<std::string> misses;
    for (int i = 0; i < 1000; ++i) misses.push_back(pg::NewPlaygroundId());
    std::mt19937 rng(1);
    const int kOps = 1000000;
    std::vector<int> order(kOps);
    for (auto& o : order) o = static_cast<int>(rng() % ids.size());
    size_t found = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kOps; ++i) found += table.Find(ids[order[i]]).has_value();
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < kOps; ++i) found += table.Find(misses[i % misses.size()]).has_value();
    auto t2 = std::chrono::steady_clock::now();
    double hit = std::chrono::duration<double, std::nano>(t1 - t0).count() / kOps;
    double miss = std::chrono::duration<double, std::nano>(t2 - t1).count() / kOps;
    char label[64];
    std::snprintf(label, sizeof label, "%d playgrounds", n);
    std::printf("%-28s %12.1f %12.1f%s\n", label, hit, miss, found == static_cast<size_t>(kOps) ? "" : " (!)");
  }
  return 0;
}
