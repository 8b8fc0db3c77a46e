// Helpers for the sandbox tests: run a spec, capture its output.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace pg::sandbox::testing {

struct RunResult {
  Outcome outcome;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Launches `spec` with stdout/stderr captured (stdin /dev/null), waits.
Result<RunResult> RunSandbox(Spec spec);
// A spec running `sh -c script`.
Spec Shell(const std::string& script);

}  // namespace pg::sandbox::testing
