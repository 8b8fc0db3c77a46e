// The runner server: `playground runner-server --root DIR --listen
// unix:PATH|tcp:HOST:PORT`. Compiles and runs the playground's code in a
// nested sandbox per run. REST for the hub:
//   GET  /healthz            200 when serving
//   GET  /languages          languages and runtime versions
//   POST /runs               run to completion, JSON result (Judge0-like)
//   GET  /runs               the last runs and their results
//   GET  /runs/{id}          one run
//   POST /runs/{id}/kill     kill a running run (and /signal)
//   GET  /ws (WebSocket)     interactive runs
// The protocol, limits and error codes: docs/protocol-runner.md.
#pragma once

#include <cstdint>
#include <string>

namespace pg::runner {

struct Options {
  std::string root = "/workspace";
  std::string listen = "unix:/run/playground/runner.sock";
  std::string languages_file;  // empty: the built-in table
  std::string log_level = "info";
  // "sandbox": every run in a pg::sandbox nested sandbox (the default);
  // "process": plain child processes under rlimits (no namespaces, for
  // containers that cannot nest sandboxes); "auto": sandbox when a probe
  // launch works, else process (logged loudly).
  std::string isolation = "sandbox";
  // Operator maxima for the request's limits (400 limit_exceeded beyond).
  int64_t max_cpu_ms = 30000;
  int64_t max_wall_ms = 60000;
  int64_t max_memory_kb = 1048576;
  int64_t max_processes = 256;
  int64_t max_output_bytes = 16 << 20;
  int64_t max_file_size_kb = 131072;
  int max_runs = 16;  // runs at once (429 run_limit beyond)
  // isolation=process and the server runs as root: the uid:gid runs use
  // (0: the server's own).
  int run_uid = 0;
  int run_gid = 0;
};

// Serves until SIGTERM/SIGINT. Returns the process exit code.
int ServerMain(const Options& options);

}  // namespace pg::runner
