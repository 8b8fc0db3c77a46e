// The server-side cost of one accepted edit: parse the ChangeSet JSON,
// validate it against the document and apply it to the UTF-16 rope, in a
// 1 KB and a 5 MB document (the rope must not copy the document per edit).
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <string>

#include "workspace/changeset.h"
#include "workspace/text.h"

namespace {

using pg::workspace::ApplyChangeSet;
using pg::workspace::ChangeSet;
using pg::workspace::Text;

void BM_Edit(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  std::u16string init;
  while (init.size() < size) init += u"const x = 1; // some code\n";
  init.resize(size);
  Text text(init);
  uint64_t seed = 7;
  for (auto _ : state) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    size_t len = text.size();
    size_t pos = seed % len;
    std::string j = "[" + std::to_string(pos) + ",[0,\"x\"]," + std::to_string(len - pos) + "]";
    auto cs = ChangeSet::FromJson(boost::json::parse(j));
    auto r = ApplyChangeSet(text, *cs, SIZE_MAX);
    benchmark::DoNotOptimize(r);
    if (text.size() > size + 4096) text.Erase(0, 4096);
  }
  state.SetLabel(std::to_string(size / 1024) + " KB");
}
BENCHMARK(BM_Edit)->Arg(1024)->Arg(5 << 20);

}  // namespace

BENCHMARK_MAIN();
