// The runner server: `playground runner-server --root DIR --listen
// unix:PATH|tcp:HOST:PORT`. Compiles and runs the playground's code in a
// nested sandbox per run. REST for the hub:
//   GET  /healthz            200 when serving
//   GET  /languages          languages and runtime versions
//   POST /runs               run to completion, JSON result (Judge0-like)
//   GET  /runs               the last runs and their results
//   POST /runs/{id}/kill     kill a running run
//   GET  /ws (WebSocket)     interactive runs: docs/protocol-runner.md
#pragma once

#include <string>

namespace pg::runner {

struct Options {
  std::string root = "/workspace";
  std::string listen = "unix:/run/playground/runner.sock";
  std::string languages_file;  // empty: the built-in table
  std::string log_level = "info";
};

int ServerMain(const Options& options);

}  // namespace pg::runner
