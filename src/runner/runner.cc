#include "runner/runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/crypto.h"
#include "common/log.h"
#include "runner/direct_launch.h"

namespace pg::runner {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Descriptor = asio::posix::stream_descriptor;

constexpr const char* kCacheDir = ".playground-cache";
constexpr size_t kMaxCompileOutput = 1 << 20;
constexpr size_t kMaxHashedBytes = 64 << 20;

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One launched process tree (the compile step or the program) and its plumbing.
struct Phase {
  explicit Phase(asio::any_io_executor ex) : readers_done(ex), watchdog_wakeup(ex) {}
  bool compile = false;
  std::unique_ptr<sandbox::Process> proc;
  std::vector<std::shared_ptr<Descriptor>> streams;  // readers first, then the stdin writer
  int readers = 0;
  Notifier readers_done;
  bool exited = false;
  Notifier watchdog_wakeup;
  int64_t cpu_ms = 0, wall_ms = 0, memory_kb = 0;
  Clock::time_point start;
  bool timed_out = false, memory_exceeded = false;
  int64_t peak_kb = 0, used_cpu_ms = 0;
};

struct Pipe {
  UniqueFd read, write;
};
Result<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return Error::FromErrno("pipe2", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<std::pair<UniqueFd, UniqueFd>> MakePty(int cols, int rows) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return Error::FromErrno("posix_openpt", errno);
  if (grantpt(master.get()) < 0 || unlockpt(master.get()) < 0) return Error::FromErrno("grantpt", errno);
  char name[128];
  if (ptsname_r(master.get(), name, sizeof name) != 0) return Error::FromErrno("ptsname", errno);
  UniqueFd slave(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) return Error::FromErrno("open pty slave", errno);
  struct winsize ws {};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  ioctl(master.get(), TIOCSWINSZ, &ws);
  return std::make_pair(std::move(master), std::move(slave));
}

void Emit(Run& run, json::object frame) {
  if (run.on_event) run.on_event(std::move(frame));
}

void OnOutput(Run& run, int stream, std::string_view data) {
  if (run.output_exceeded || data.empty()) return;
  int64_t room = run.request.limits.output_bytes - run.output_total;
  if (static_cast<int64_t>(data.size()) > room) {
    data = data.substr(0, static_cast<size_t>(std::max<int64_t>(room, 0)));
    run.output_exceeded = true;
    run.output_truncated = true;
    if (run.process) run.process->Kill();
  }
  run.output_total += static_cast<int64_t>(data.size());
  if (data.empty()) return;
  if (run.on_event) {
    std::string text = SanitizeUtf8(run.carry[stream] + std::string(data), &run.carry[stream]);
    if (text.empty()) return;
    json::object f;
    f["type"] = "output";
    f["run"] = run.id;
    f["stream"] = stream == 0 ? "stdout" : "stderr";
    f["seq"] = run.seq++;
    f["data"] = text;
    Emit(run, std::move(f));
  } else {
    (stream == 0 ? run.stdout_data : run.stderr_data).append(data);
  }
}

asio::awaitable<void> ReadStream(std::shared_ptr<Run> run, std::shared_ptr<Phase> ph, size_t index) {
  std::vector<char> buf(64 * 1024);
  Descriptor& d = *ph->streams[index];
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await d.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0) {
      std::string_view data(buf.data(), n);
      if (ph->compile) {
        size_t room = kMaxCompileOutput - std::min(kMaxCompileOutput, run->compile_output.size());
        run->compile_output.append(data.substr(0, std::min(room, data.size())));
      } else {
        OnOutput(*run, static_cast<int>(index), data);
      }
    }
    if (ec) break;  // EOF, EIO (pty closed) or cancelled
  }
  --ph->readers;
  ph->readers_done.Notify();
}

asio::awaitable<void> WriteStdin(std::shared_ptr<Run> run, std::shared_ptr<Phase> ph, std::shared_ptr<Descriptor> d,
                                 bool tty) {
  for (;;) {
    while (run->stdin_pending.empty() && !run->stdin_eof && !ph->exited) {
      co_await run->stdin_wakeup.WaitUntil(Clock::time_point::max());
    }
    if (ph->exited || !d->is_open()) break;
    if (!run->stdin_pending.empty()) {
      std::string chunk;
      chunk.swap(run->stdin_pending);
      boost::system::error_code ec;
      co_await asio::async_write(*d, asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      continue;
    }
    if (run->stdin_eof && !tty) {
      boost::system::error_code ec;
      d->close(ec);
      break;
    }
    run->stdin_eof = false;
  }
}

asio::awaitable<void> Watchdog(std::shared_ptr<Phase> ph) {
  const auto deadline = ph->start + std::chrono::milliseconds(ph->wall_ms);
  auto next = ph->start + 20ms;
  while (!ph->exited) {
    co_await ph->watchdog_wakeup.WaitUntil(std::min(next, deadline));
    if (ph->exited) break;
    auto now = Clock::now();
    if (now >= deadline) {
      ph->timed_out = true;
      ph->proc->Kill();
      break;
    }
    if (now >= next) {
      sandbox::Outcome u = ph->proc->Usage();
      ph->peak_kb = std::max(ph->peak_kb, u.peak_memory_kb);
      ph->used_cpu_ms = std::max(ph->used_cpu_ms, u.cpu_ms);
      if (ph->used_cpu_ms > ph->cpu_ms) {
        ph->timed_out = true;
        ph->proc->Kill();
        break;
      }
      if (ph->peak_kb > ph->memory_kb) {
        ph->memory_exceeded = true;
        ph->proc->Kill();
        break;
      }
      next = now + 50ms;
    }
  }
}

// Creates the run's standard streams: `child_side` goes into `spec` (closed
// once launched), `ours` are the reader ends (stdout[, stderr]) then stdin.
Result<void> MakeStreams(Run& run, const Phase& ph, bool tty, sandbox::Spec& spec, std::vector<UniqueFd>* child_side,
                         std::vector<UniqueFd>* ours) {
  if (ph.compile) {
    PG_ASSIGN_OR_RETURN(Pipe out, MakePipe());
    spec.stdout_fd = spec.stderr_fd = out.write.get();
    child_side->push_back(std::move(out.write));
    ours->push_back(std::move(out.read));
  } else if (tty) {
    PG_ASSIGN_OR_RETURN(auto pty, MakePty(run.request.cols, run.request.rows));
    spec.pty_slave_fd = pty.second.get();
    child_side->push_back(std::move(pty.second));
    UniqueFd writer(fcntl(pty.first.get(), F_DUPFD_CLOEXEC, 0));
    if (!writer.valid()) return Error::FromErrno("dup", errno);
    run.pty_master = pty.first.get();
    ours->push_back(std::move(pty.first));
    ours->push_back(std::move(writer));
  } else {
    PG_ASSIGN_OR_RETURN(Pipe out, MakePipe());
    PG_ASSIGN_OR_RETURN(Pipe err, MakePipe());
    PG_ASSIGN_OR_RETURN(Pipe in, MakePipe());
    spec.stdout_fd = out.write.get();
    spec.stderr_fd = err.write.get();
    spec.stdin_fd = in.read.get();
    child_side->push_back(std::move(out.write));
    child_side->push_back(std::move(err.write));
    child_side->push_back(std::move(in.read));
    ours->push_back(std::move(out.read));
    ours->push_back(std::move(err.read));
    ours->push_back(std::move(in.write));
  }
  return Ok();
}

// Launches `spec` and supervises it to the end: output to the run, stdin
// from the run, limits, the pidfd. The compile phase's output goes to
// compile_output.
asio::awaitable<Result<sandbox::Outcome>> ExecutePhase(std::shared_ptr<Run> run, Runner* runner,
                                                       std::shared_ptr<Phase> ph, sandbox::Spec spec) {
  auto ex = runner->executor();
  std::vector<UniqueFd> child_side;
  std::vector<UniqueFd> ours;  // readers..., then stdin
  const bool tty = !ph->compile && run->request.tty;
  if (auto made = MakeStreams(*run, *ph, tty, spec, &child_side, &ours); !made.ok()) co_return made.error();
  ph->start = Clock::now();
  auto launched = runner->Launch(spec);
  child_side.clear();
  if (!launched.ok()) {
    run->pty_master = -1;
    co_return launched.error();
  }
  ph->proc = std::move(launched).value();
  run->process = ph->proc.get();

  UniqueFd pidfd(fcntl(ph->proc->pidfd(), F_DUPFD_CLOEXEC, 0));
  if (!pidfd.valid()) {
    ph->proc->Kill();
    (void)ph->proc->Wait();
    run->process = nullptr;
    run->pty_master = -1;
    co_return Error::FromErrno("dup pidfd", errno);
  }
  size_t readers = ph->compile ? 1 : tty ? 1 : 2;
  for (auto& fd : ours) ph->streams.push_back(std::make_shared<Descriptor>(ex, fd.release()));
  ph->readers = static_cast<int>(readers);
  for (size_t i = 0; i < readers; ++i) asio::co_spawn(ex, ReadStream(run, ph, i), asio::detached);
  if (!ph->compile) asio::co_spawn(ex, WriteStdin(run, ph, ph->streams[readers], tty), asio::detached);
  asio::co_spawn(ex, Watchdog(ph), asio::detached);

  Descriptor pid_wait(ex, pidfd.release());
  boost::system::error_code ec;
  co_await pid_wait.async_wait(Descriptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
  auto outcome = ph->proc->Wait();
  ph->exited = true;
  run->process = nullptr;
  ph->watchdog_wakeup.Notify();
  run->stdin_wakeup.Notify();

  // The tree is gone: the pipes reach EOF once drained. A descendant that
  // escaped the tree could hold them open, so bound the wait.
  const auto drain_deadline = Clock::now() + 2s;
  while (ph->readers > 0 && Clock::now() < drain_deadline) co_await ph->readers_done.WaitUntil(drain_deadline);
  run->pty_master = -1;
  for (auto& d : ph->streams) {
    boost::system::error_code ignored;
    d->close(ignored);
  }
  if (!outcome.ok()) co_return outcome.error();
  sandbox::Outcome o = *outcome;
  o.peak_memory_kb = std::max(o.peak_memory_kb, ph->peak_kb);
  o.cpu_ms = std::max(o.cpu_ms, ph->used_cpu_ms);
  co_return o;
}

bool HasExtension(const std::string& name, const std::vector<std::string>& exts) {
  for (const auto& e : exts) {
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// Files of the entry's directory (not recursive) with the language's
// extensions (`sources`, sorted) and the cache key over them and `inputs`.
Result<std::string> CompileKey(int root_fd, const Run& run, std::vector<std::string>* sources) {
  const Language& lang = *run.language;
  std::string dir;
  if (auto slash = run.request.entry.rfind('/'); slash != std::string::npos) dir = run.request.entry.substr(0, slash);
  PG_ASSIGN_OR_RETURN(UniqueFd dfd, OpenBeneath(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = fdopendir(dfd.release());
  if (!d) return Error::FromErrno("fdopendir", errno);
  std::vector<std::string> names;
  while (auto* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (HasExtension(name, lang.extensions) || HasExtension(name, lang.inputs)) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::string material = lang.id;
  for (const auto& a : lang.compile) material += '\0' + a;
  material += '\0';
  size_t total = 0;
  for (const auto& name : names) {
    std::string rel = dir.empty() ? name : dir + "/" + name;
    auto content = ReadFileBeneath(root_fd, rel, kMaxHashedBytes);
    if (!content.ok()) continue;  // vanished or not a regular file
    total += content->size();
    if (total > kMaxHashedBytes) return Error::BadRequest("invalid_value", "the sources are larger than 64 MiB");
    material += rel + '\0' + std::to_string(content->size()) + '\0' + *content;
    if (HasExtension(name, lang.extensions)) sources->push_back(rel);
  }
  if (std::find(sources->begin(), sources->end(), run.request.entry) == sources->end())
    sources->insert(sources->begin(), run.request.entry);
  return Sha256Hex(material);
}

sandbox::Spec MakeSpec(const Runner& runner, const Run& run, std::vector<std::string> argv, const RunLimits& limits,
                       bool tty) {
  sandbox::Spec spec;
  if (!argv.empty() && argv[0].find('/') == std::string::npos) {
    std::string found = FindExecutable(argv[0], kRunPath);
    if (!found.empty()) argv[0] = found;
  }
  spec.argv = std::move(argv);
  spec.env = {std::string("PATH=") + kRunPath, "HOME=/tmp", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "USER=runner",
              std::string("TERM=") + (tty ? "xterm-256color" : "dumb")};
  for (const auto& [k, v] : run.language->env) spec.env.push_back(k + "=" + v);
  spec.cwd = runner.WorkspacePath();
  if (runner.config().isolation == Isolation::kSandbox) {
    spec.mounts.push_back({runner.config().root, "/workspace", true});
  } else {
    spec.host_uid = runner.config().run_uid;
    spec.host_gid = runner.config().run_gid;
  }
  spec.limits.memory_bytes = limits.memory_kb * 1024;
  spec.limits.pids = limits.processes;
  spec.limits.cpu_time_ms = limits.cpu_ms;
  spec.limits.wall_time_ms = limits.wall_ms;
  spec.limits.file_size_bytes = limits.file_size_kb * 1024;
  spec.limits.open_files = 1024;
  return spec;
}

std::shared_ptr<Phase> NewPhase(Runner* runner, bool compile, const RunLimits& limits) {
  auto ph = std::make_shared<Phase>(runner->executor());
  ph->compile = compile;
  ph->cpu_ms = limits.cpu_ms;
  ph->wall_ms = limits.wall_ms;
  ph->memory_kb = limits.memory_kb;
  return ph;
}

RunLimits CompileLimits() {
  RunLimits l;
  l.cpu_ms = 20000;
  l.wall_ms = 30000;
  l.memory_kb = 1 << 20;
  l.processes = 64;
  l.output_bytes = kMaxCompileOutput;
  l.file_size_kb = 64 << 10;
  return l;
}

void Fail(Run& run, const Error& e) {
  run.status = "failed";
  run.stderr_data = e.message;
  json::object f;
  f["type"] = "error";
  f["run"] = run.id;
  f["code"] = e.code;
  f["message"] = e.message;
  Emit(run, std::move(f));
}

asio::awaitable<void> ExecuteRun(std::shared_ptr<Run> run, Runner* runner) {
  const Language& lang = *run->language;
  ExpandContext ctx;
  ctx.entry = run->request.entry;
  ctx.args = run->request.args;
  if (lang.compiled()) {
    auto key = CompileKey(runner->root_fd(), *run, &ctx.sources);
    if (!key.ok()) {
      Fail(*run, key.error());
      runner->Finish(run);
      co_return;
    }
    const std::string final_rel = std::string(kCacheDir) + "/" + *key;
    ctx.out = runner->WorkspacePath() + "/" + final_rel;
    struct stat st;
    if (fstatat(runner->root_fd(), final_rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      run->compile_cached = true;
    } else {
      const std::string tmp_rel = final_rel + ".tmp-" + HexEncode(Sha256(RandomToken(16))).substr(0, 12);
      auto made = MakeDirsBeneath(runner->root_fd(), tmp_rel, 0755);
      // The compiler runs as the sandbox's unprivileged user: it must be
      // able to write its output here (the server may be root).
      if (made.ok() && fchmodat(runner->root_fd(), tmp_rel.c_str(), 0777, 0) != 0)
        made = Error::FromErrno("chmod " + tmp_rel, errno);
      if (!made.ok()) {
        Fail(*run, made.error());
        runner->Finish(run);
        co_return;
      }
      ExpandContext cctx = ctx;
      cctx.out = runner->WorkspacePath() + "/" + tmp_rel;
      RunLimits cl = CompileLimits();
      auto ph = NewPhase(runner, true, cl);
      auto t0 = Clock::now();
      auto outcome =
          co_await ExecutePhase(run, runner, ph, MakeSpec(*runner, *run, ExpandArgv(lang.compile, cctx), cl, false));
      run->compile_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
      if (!outcome.ok()) {
        (void)RemoveAllBeneath(runner->root_fd(), tmp_rel);
        Fail(*run, outcome.error());
        runner->Finish(run);
        co_return;
      }
      bool ok = outcome->exit_code == 0 && outcome->signal == 0 && !ph->timed_out && !ph->memory_exceeded;
      if (!ok) {
        (void)RemoveAllBeneath(runner->root_fd(), tmp_rel);
        if (run->compile_output.empty() || ph->timed_out || ph->memory_exceeded || outcome->timed_out) {
          run->compile_output += ph->timed_out || outcome->timed_out ? "\n[compile step timed out]\n"
                                 : ph->memory_exceeded           ? "\n[compile step ran out of memory]\n"
                                 : outcome->signal               ? "\n[compiler killed by " + SignalName(outcome->signal) + "]\n"
                                                                 : "\n[compiler exited with code " +
                                                                       std::to_string(outcome->exit_code) + "]\n";
        }
        run->status = run->killed_by_client ? "killed" : "compile_error";
        if (!run->killed_by_client) run->exit_code = outcome->exit_code >= 0 ? outcome->exit_code : 1;
      } else if (renameat(runner->root_fd(), tmp_rel.c_str(), runner->root_fd(), final_rel.c_str()) != 0) {
        // A concurrent compile of the same sources won: use its result.
        (void)RemoveAllBeneath(runner->root_fd(), tmp_rel);
      }
    }
    json::object f;
    f["type"] = "compile";
    f["run"] = run->id;
    f["cached"] = run->compile_cached;
    f["data"] = SanitizeUtf8(run->compile_output);
    Emit(*run, std::move(f));
    if (run->status != "running") {
      runner->Finish(run);
      co_return;
    }
    if (run->killed_by_client) {
      run->status = "killed";
      runner->Finish(run);
      co_return;
    }
  }

  auto ph = NewPhase(runner, false, run->request.limits);
  if (!run->request.interactive) {
    run->stdin_pending = std::move(run->request.stdin_data);
    run->stdin_eof = true;
  }
  auto outcome = co_await ExecutePhase(
      run, runner, ph, MakeSpec(*runner, *run, ExpandArgv(lang.run, ctx), run->request.limits, run->request.tty));
  if (!outcome.ok()) {
    Fail(*run, outcome.error());
    runner->Finish(run);
    co_return;
  }
  const sandbox::Outcome& o = *outcome;
  if (o.signal == 0 && o.exit_code >= 0) run->exit_code = o.exit_code;
  run->signal = o.signal;
  run->cpu_ms = o.cpu_ms;
  run->wall_ms = o.wall_ms;
  run->peak_memory_kb = o.peak_memory_kb;
  const int64_t mem_limit = run->request.limits.memory_kb;
  const bool failed = o.signal != 0 || o.exit_code != 0;
  if (run->killed_by_client) {
    run->status = "killed";
  } else if (run->output_exceeded) {
    run->status = "output_exceeded";
  } else if (ph->timed_out || o.timed_out || o.signal == SIGXCPU) {
    run->status = "timed_out";
  } else if (ph->memory_exceeded || o.memory_exceeded ||
             // Without cgroups an allocation fails at the rlimit before the
             // watchdog sees it: a failure at (nearly) the limit is the limit.
             (failed && o.peak_memory_kb * 10 >= mem_limit * 8)) {
    run->status = "memory_exceeded";
  } else if (failed) {
    run->status = "runtime_error";
  } else {
    run->status = "ok";
  }
  runner->Finish(run);
}

}  // namespace

asio::awaitable<void> Notifier::WaitUntil(asio::steady_timer::time_point deadline) {
  timer_.expires_at(deadline);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

bool Run::Kill() {
  if (finished) return false;
  killed_by_client = true;
  if (process) process->Kill();
  return true;
}

bool Run::SendSignal(int sig) {
  if (finished) return false;
  if (sig == SIGKILL) return Kill();
  if (process) process->Signal(sig);
  return true;
}

void Run::WriteStdin(std::string data) {
  if (finished) return;
  stdin_pending += data;
  stdin_wakeup.Notify();
}

void Run::CloseStdin() {
  if (finished) return;
  if (request.tty) {
    stdin_pending += '\x04';
  } else {
    stdin_eof = true;
  }
  stdin_wakeup.Notify();
}

Result<void> Run::Resize(int cols, int rows) {
  if (!request.tty) return Error::BadRequest("not_tty", "the run has no terminal");
  if (pty_master < 0) return Ok();
  struct winsize ws {};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  if (ioctl(pty_master, TIOCSWINSZ, &ws) < 0) return Error::FromErrno("TIOCSWINSZ", errno);
  return Ok();
}

json::object Run::ToJson(bool with_output) const {
  json::object o;
  o["id"] = id;
  o["status"] = status;
  if (exit_code) {
    o["exit_code"] = *exit_code;
  } else {
    o["exit_code"] = nullptr;
  }
  if (signal) {
    o["signal"] = SignalName(signal);
  } else {
    o["signal"] = nullptr;
  }
  if (with_output) {
    o["stdout"] = SanitizeUtf8(stdout_data);
    o["stderr"] = SanitizeUtf8(stderr_data);
  }
  o["compile_output"] = SanitizeUtf8(compile_output);
  o["compile_cached"] = compile_cached;
  o["compile_ms"] = compile_ms;
  o["cpu_ms"] = cpu_ms;
  o["wall_ms"] = wall_ms;
  o["peak_memory_kb"] = peak_memory_kb;
  o["output_truncated"] = output_truncated;
  o["language"] = language ? language->id : "";
  o["entry"] = request.entry;
  o["started_at"] = IsoTime(started_unix_ms);
  return o;
}

json::object Run::Summary() const {
  json::object o;
  o["id"] = id;
  o["language"] = language ? language->id : "";
  o["entry"] = request.entry;
  o["status"] = status;
  if (exit_code) {
    o["exit_code"] = *exit_code;
  } else {
    o["exit_code"] = nullptr;
  }
  o["cpu_ms"] = cpu_ms;
  o["wall_ms"] = wall_ms;
  o["compile_ms"] = compile_ms;
  o["started_at"] = IsoTime(started_unix_ms);
  return o;
}

Runner::Runner(asio::any_io_executor ex, RunnerConfig config, std::vector<Language>* languages)
    : ex_(std::move(ex)), config_(std::move(config)), languages_(languages) {
  root_fd_ = UniqueFd(open(config_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

Runner::~Runner() {
  for (auto& [id, run] : runs_) {
    if (run->process) run->process->Kill();
  }
}

std::string Runner::WorkspacePath() const {
  return config_.isolation == Isolation::kSandbox ? "/workspace" : config_.root;
}

Result<std::unique_ptr<sandbox::Process>> Runner::Launch(const sandbox::Spec& spec) const {
  auto r = config_.isolation == Isolation::kSandbox ? sandbox::Launch(spec) : LaunchDirect(spec);
  if (!r.ok() && r.error().code != "sandbox_failed")
    return Error::Make("sandbox_failed", "cannot start the run: " + r.error().message, 500);
  return r;
}

Result<std::shared_ptr<Run>> Runner::Prepare(RunRequest req) {
  if (!root_fd_.valid()) return Error::Internal("the workspace root " + config_.root + " cannot be opened");
  const Language* lang = nullptr;
  if (req.language.empty() || req.language == "auto") {
    for (const auto& l : *languages_) {
      if (HasExtension(req.entry, l.extensions)) {
        lang = &l;
        break;
      }
    }
    if (!lang) return Error::BadRequest("unknown_language", "no language for the extension of " + req.entry);
  } else {
    for (const auto& l : *languages_) {
      if (l.id == req.language) lang = &l;
    }
    if (!lang) return Error::BadRequest("unknown_language", "unknown language \"" + req.language + "\"");
  }
  if (!lang->available)
    return Error::BadRequest("language_unavailable", lang->name + " is not installed in this runner");
  if (running_ >= config_.max_running) {
    return Error::Make("run_limit", "already " + std::to_string(running_) + " runs running (the limit)", 429);
  }
  for (const auto& [path, content] : req.files) {
    if (static_cast<int64_t>(content.size()) > req.limits.file_size_kb * 1024)
      return Error::BadRequest("limit_exceeded", "files." + path + " is larger than limits.file_size_kb");
    PG_RETURN_IF_ERROR(WriteFileBeneath(root_fd_.get(), path, content));
  }
  {
    auto fd = OpenBeneath(root_fd_.get(), req.entry, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (!fd.ok() || fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (!fd.ok() && fd.error().code == "invalid_path") return fd.error();
      return Error::BadRequest("entry_not_found", "entry " + req.entry + " is not a file in the workspace");
    }
  }
  auto run = std::make_shared<Run>(ex_);
  run->id = "r" + HexEncode(Sha256(RandomToken(16))).substr(0, 15);
  run->request = std::move(req);
  run->language = lang;
  run->started_unix_ms = UnixMs();
  ++running_;
  runs_[run->id] = run;
  order_.push_back(run->id);
  while (order_.size() > config_.history + config_.max_running) {
    // Drop the oldest finished run.
    auto it = std::find_if(order_.begin(), order_.end(), [&](const std::string& id) { return runs_[id]->finished; });
    if (it == order_.end()) break;
    runs_.erase(*it);
    order_.erase(it);
  }
  return run;
}

void Runner::Start(std::shared_ptr<Run> run) { asio::co_spawn(ex_, ExecuteRun(std::move(run), this), asio::detached); }

void Runner::Finish(const std::shared_ptr<Run>& run) {
  if (run->finished) return;
  run->finished = true;
  --running_;
  for (int stream = 0; stream < 2; ++stream) {
    // A multi-byte sequence cut by the end of the output.
    if (run->carry[stream].empty()) continue;
    json::object out;
    out["type"] = "output";
    out["run"] = run->id;
    out["stream"] = stream == 0 ? "stdout" : "stderr";
    out["seq"] = run->seq++;
    out["data"] = SanitizeUtf8(run->carry[stream]);
    run->carry[stream].clear();
    Emit(*run, std::move(out));
  }
  json::object f = run->ToJson(false);
  f["type"] = "exit";
  f["run"] = run->id;
  f.erase("id");
  Emit(*run, std::move(f));
  run->on_event = nullptr;
  run->done.Notify();
}

std::shared_ptr<Run> Runner::Find(const std::string& id) const {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Run>> Runner::Recent() const {
  std::vector<std::shared_ptr<Run>> out;
  for (auto it = order_.rbegin(); it != order_.rend() && out.size() < config_.history; ++it) out.push_back(runs_.at(*it));
  return out;
}

}  // namespace pg::runner
