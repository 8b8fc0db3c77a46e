// The hostile suite's fixture: a real hub (`playground serve`) per
// orchestrator ("local", "docker"), one playground shared by the tests of a
// binary, and hostile programs run through the public API
// (POST /api/v1/playgrounds/{id}/runs) exactly as a user would submit them.
// Docker cases skip only when no engine or images are present.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "testing/hub_process.h"
#include "testing/testing.h"

namespace pg::testing::hostile {

struct RunResult {
  int http_status = 0;
  std::string body;            // the raw response, for failure messages
  std::string status;          // ok, runtime_error, timed_out, ...
  std::optional<int64_t> exit_code;
  std::string signal;          // "" when none
  std::string out, err;        // stdout, stderr
  int64_t cpu_ms = 0, wall_ms = 0, peak_memory_kb = 0;
  bool output_truncated = false;
  // The last stdout line that parses as a JSON object (the programs report
  // what they saw there), or null.
  boost::json::value report;
  // report[key] as an integer (missing/other: `fallback`).
  int64_t Int(const char* key, int64_t fallback = -999) const;
  std::string Str(const char* key) const;
  bool Bool(const char* key) const;
};

using testing::OrchestratorUnavailable;

// Everything one orchestrator's tests share: the hub and a playground.
struct HubEnv {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<HubProcess> hub;
  std::string playground;     // the shared playground's id
  pid_t hub_pid = -1;
  std::string known_bug;      // non-empty: runs cannot work at all here (skip with this)
};

class HostileTest : public ::testing::TestWithParam<std::string> {
 public:
  static void TearDownTestSuite();

 protected:
  void SetUp() override;
  void TearDown() override;

  const std::string& orchestrator() const { return GetParam(); }
  bool local() const { return orchestrator() == "local"; }
  HubProcess& hub() { return *env_->hub; }
  const std::string& playground() const { return env_->playground; }
  pid_t hub_pid() const { return env_->hub_pid; }
  int hub_port() const;

  // Creates an extra playground (deleted in TearDown); `limits` is a JSON
  // object text or "". Returns its id ("" on failure, with a test failure).
  std::string CreatePlayground(const std::string& limits = "");

  // Runs `files[entry]` in `language` with `limits` (a JSON object text).
  RunResult Run(const std::string& language, const std::map<std::string, std::string>& files,
                const std::string& entry, const std::string& limits, const std::string& playground_id = "");
  // A Python program (the prelude below is prepended) as `<name>.py`.
  RunResult Python(const std::string& code, const std::string& limits = "{}",
                   const std::string& playground_id = "");
  // A C program as `<name>/main.c` (its own directory: the compile step
  // compiles every .c file of the entry's directory).
  RunResult C(const std::string& code, const std::string& limits = "{}", const std::string& playground_id = "");

  // One admin call to the hub that gives up after `timeout_s` (status -1):
  // for requests that a hostile playground might make hang.
  HubResponse CallWithin(const std::string& method, const std::string& path, const std::string& body,
                         int timeout_s);

  // A file of a playground's volume through the files API (status in *status).
  std::string FileOf(const std::string& id, const std::string& path, int* status = nullptr);

  // The hub answers /healthz and lists playgrounds; returns the slower of
  // the two round trips in ms (-1 when one failed).
  int64_t HubLatencyMs();

  HubEnv* env_ = nullptr;

 private:
  std::string FileStem() const;
  std::vector<std::string> extra_;
};

// Python helpers every program gets: json, os, errno, socket, ctypes and
//   sc(nr, *args) -> [ret, errno]   (a raw system call through libc's syscall)
//   attempt(fn) -> "ok" or the errno name ("EPERM", ...) or the exception
//   report(**kv)                    (prints the JSON report line)
extern const char kPythonPrelude[];

// Human-readable dump of a result for assertion messages.
std::string Describe(const RunResult& r);

}  // namespace pg::testing::hostile
