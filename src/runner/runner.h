// The run engine of the runner server: validates a request, writes its
// files, compiles (with a cache) and runs it in a sandbox, streaming output
// to an optional listener. Single-threaded: every method and callback runs
// on the executor given to the constructor.
#pragma once

#include <boost/asio.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/json.h"
#include "runner/languages.h"
#include "runner/request.h"
#include "sandbox/sandbox.h"

namespace pg::runner {

namespace asio = boost::asio;

enum class Isolation {
  kSandbox,  // pg::sandbox::Launch, the workspace bound at /workspace (the default)
  kProcess,  // runner/direct_launch.h: rlimits and process groups only
};

struct RunnerConfig {
  std::string root;  // absolute path of the workspace (the server's --root)
  Isolation isolation = Isolation::kSandbox;
  RunLimits defaults;
  RunLimits maxima = DefaultMaxima();
  size_t max_running = 16;  // runs at once in this server
  size_t history = 100;     // finished runs kept for GET /runs
  uid_t run_uid = 0;        // kProcess as root: uid to run as (0: stay)
  gid_t run_gid = 0;
};

// A cheap wake-up for one waiting coroutine (a condition variable for a
// single-threaded executor): the waiter re-checks its condition after every
// wake-up, so a Notify with nobody waiting is harmless.
class Notifier {
 public:
  explicit Notifier(asio::any_io_executor ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
  void Notify() { timer_.cancel(); }
  // Returns when notified or at `deadline`.
  asio::awaitable<void> WaitUntil(asio::steady_timer::time_point deadline);

 private:
  asio::steady_timer timer_;
};

// One run. Owned by shared_ptr (the Runner's table, its coroutines).
class Run {
 public:
  Run(asio::any_io_executor ex) : done(ex), stdin_wakeup(ex) {}

  std::string id;
  RunRequest request;
  const Language* language = nullptr;
  int64_t started_unix_ms = 0;

  // Result (status "running" until finished).
  std::string status = "running";
  std::optional<int> exit_code;
  int signal = 0;
  std::string stdout_data, stderr_data, compile_output;  // raw bytes
  bool compile_cached = false;
  int64_t compile_ms = 0, cpu_ms = 0, wall_ms = 0, peak_memory_kb = 0;
  bool output_truncated = false;
  bool finished = false;

  // Reasons recorded while running.
  bool killed_by_client = false;
  bool timed_out = false;
  bool memory_exceeded = false;
  bool output_exceeded = false;

  // Streaming listener (WebSocket): output/compile/exit events, already
  // shaped as protocol frames. Null for REST runs (output is collected).
  std::function<void(json::object)> on_event;

  // Running state.
  sandbox::Process* process = nullptr;  // during a phase
  int64_t output_total = 0;
  int64_t seq = 0;
  std::string carry[2];
  Notifier done;  // notified when finished
  // stdin: bytes waiting to be written, and whether EOF follows them.
  std::string stdin_pending;
  bool stdin_eof = false;
  Notifier stdin_wakeup;
  int pty_master = -1;  // while a tty run runs

  // Client controls. Return false when the run is not running.
  bool Kill();
  bool SendSignal(int sig);
  void WriteStdin(std::string data);
  void CloseStdin();
  Result<void> Resize(int cols, int rows);

  // The REST result ({"id","status",...}); `with_output`: stdout/stderr too.
  json::object ToJson(bool with_output) const;
  json::object Summary() const;
};

class Runner {
 public:
  // Precondition: config.root exists. Languages must outlive the runner.
  Runner(asio::any_io_executor ex, RunnerConfig config, std::vector<Language>* languages);
  ~Runner();

  // Checks `req` (language, entry, limits, the run limit), writes its files
  // and returns the run, not yet started.
  Result<std::shared_ptr<Run>> Prepare(RunRequest req);
  // Starts a prepared run on the executor.
  void Start(std::shared_ptr<Run> run);

  std::shared_ptr<Run> Find(const std::string& id) const;
  std::vector<std::shared_ptr<Run>> Recent() const;  // newest first
  size_t running() const { return running_; }
  const RunnerConfig& config() const { return config_; }
  const std::vector<Language>& languages() const { return *languages_; }

  // Implementation details used by the run coroutines.
  asio::any_io_executor executor() const { return ex_; }
  int root_fd() const { return root_fd_.get(); }
  // The workspace as the program sees it ("/workspace" in the sandbox).
  std::string WorkspacePath() const;
  Result<std::unique_ptr<sandbox::Process>> Launch(const sandbox::Spec& spec) const;
  void Finish(const std::shared_ptr<Run>& run);

 private:
  asio::any_io_executor ex_;
  RunnerConfig config_;
  std::vector<Language>* languages_;
  UniqueFd root_fd_;
  std::map<std::string, std::shared_ptr<Run>> runs_;
  std::deque<std::string> order_;  // ids, oldest first
  size_t running_ = 0;
};

}  // namespace pg::runner
