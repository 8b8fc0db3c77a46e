// Small helpers shared by the benchmark drivers: percentiles, process
// timing, memory of process sets, a table printer.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pg::bench {

struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
  size_t n = 0;
};
Stats Summarize(std::vector<double> ms);

// Runs argv to completion (fork/execvp, output to /dev/null) and returns
// the wall time in milliseconds, or -1 when it failed.
double TimeCommand(const std::vector<std::string>& argv);

// Resident and proportional set size (KiB) of the given processes.
struct Memory {
  long rss_kb = 0;
  long pss_kb = 0;
  long uss_kb = 0;  // private pages: what one more such process costs
};
Memory MemoryOf(const std::vector<pid_t>& pids);

// Prints rows as an aligned table with a header.
void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string Fmt(double v, int decimals = 2);

}  // namespace pg::bench
