#include "runner/runner_server.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/beast/websocket.hpp>

#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include "common/http_server.h"
#include "common/json.h"
#include "common/log.h"
#include "runner/direct_launch.h"
#include "runner/runner.h"

namespace pg::runner {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using http::bhttp::status;
using http::bhttp::verb;
using Descriptor = asio::posix::stream_descriptor;

struct ServerState {
  explicit ServerState(asio::any_io_executor ex) : probes_done(ex) {}
  std::vector<Language> languages;
  std::unique_ptr<Runner> runner;
  int probes_pending = 0;
  Notifier probes_done;
};

std::string Serialize(const json::value& v) { return json::serialize(v); }

http::Response Json(const http::Request& req, status st, const json::value& v) {
  return http::MakeResponse(req, st, Serialize(v));
}

// ---- Version probes -------------------------------------------------------

asio::awaitable<void> KillAfter(std::shared_ptr<sandbox::Process> proc, std::shared_ptr<bool> done,
                                std::chrono::milliseconds after) {
  asio::steady_timer t(co_await asio::this_coro::executor, after);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!*done) proc->Kill();
}

asio::awaitable<void> ProbeOne(ServerState* st, Language* lang) {
  auto ex = co_await asio::this_coro::executor;
  std::string output;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    UniqueFd rd(fds[0]), wr(fds[1]);
    sandbox::Spec spec;
    spec.argv = lang->version_command;
    spec.argv[0] = FindExecutable(spec.argv[0], kRunPath);
    spec.env = {std::string("PATH=") + kRunPath, "HOME=/tmp", "LANG=C.UTF-8"};
    spec.cwd = "/";
    spec.stdout_fd = spec.stderr_fd = wr.get();
    auto launched = LaunchDirect(spec);
    wr.reset();
    if (launched.ok()) {
      std::shared_ptr<sandbox::Process> proc(std::move(launched).value().release());
      auto done = std::make_shared<bool>(false);
      asio::co_spawn(ex, KillAfter(proc, done, 15s), asio::detached);
      Descriptor d(ex, rd.release());
      char buf[4096];
      for (;;) {
        boost::system::error_code ec;
        size_t n = co_await d.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        if (output.size() < 65536) output.append(buf, n);
        if (ec) break;
      }
      Descriptor pw(ex, fcntl(proc->pidfd(), F_DUPFD_CLOEXEC, 0));
      boost::system::error_code ec;
      co_await pw.async_wait(Descriptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
      auto outcome = proc->Wait();
      *done = true;
      if (outcome.ok() && outcome->exit_code == 0) {
        lang->version = ExtractVersion(output);
      } else {
        lang->available = false;
      }
    } else {
      lang->available = false;
    }
  }
  spdlog::info("language {}: {} {}", lang->id, lang->available ? "available" : "unavailable", lang->version);
  if (--st->probes_pending == 0) st->probes_done.Notify();
}

void StartProbes(ServerState* st, asio::any_io_executor ex) {
  for (auto& l : st->languages) {
    // Available when every tool the templates name is installed.
    l.available = true;
    for (const auto* argv : {&l.version_command, &l.compile, &l.run}) {
      if (argv->empty()) continue;
      const std::string& tool = (*argv)[0];
      if (tool.find('{') != std::string::npos) continue;
      if (FindExecutable(tool, kRunPath).empty()) l.available = false;
    }
    if (l.available && !l.version_command.empty()) {
      ++st->probes_pending;
      asio::co_spawn(ex, ProbeOne(st, &l), asio::detached);
    }
  }
}

// ---- REST -----------------------------------------------------------------

asio::awaitable<http::Response> HandleRun(ServerState* st, const http::Request& req) {
  auto body = ParseJsonObject(req.body(), false);
  if (!body.ok()) co_return http::ErrorResponse(req, body.error());
  auto parsed = ParseRunRequest(*body, st->runner->config().defaults, st->runner->config().maxima, false);
  if (!parsed.ok()) co_return http::ErrorResponse(req, parsed.error());
  auto run = st->runner->Prepare(std::move(parsed).value());
  if (!run.ok()) co_return http::ErrorResponse(req, run.error());
  std::shared_ptr<Run> r = *run;
  st->runner->Start(r);
  while (!r->finished) co_await r->done.WaitUntil(Clock::time_point::max());
  if (r->status == "failed") {
    co_return http::ErrorResponse(req, Error::Make("sandbox_failed", r->stderr_data, 500));
  }
  co_return Json(req, status::ok, r->ToJson(true));
}

http::Response HandleRunAction(ServerState* st, const http::Request& req, const std::string& id,
                               const std::string& action) {
  auto run = st->runner->Find(id);
  if (!run) return http::ErrorResponse(req, Error::NotFound("no run " + id));
  if (action.empty()) {
    if (req.method() != verb::get) return http::ErrorResponse(req, Error::Make("method_not_allowed", "use GET", 405));
    return Json(req, status::ok, run->ToJson(true));
  }
  if (req.method() != verb::post) return http::ErrorResponse(req, Error::Make("method_not_allowed", "use POST", 405));
  int sig = SIGKILL;
  if (action == "signal") {
    auto body = ParseJsonObject(req.body(), false);
    if (!body.ok()) return http::ErrorResponse(req, body.error());
    JsonReader r(*body);
    if (auto only = r.Only({"signal"}); !only.ok()) return http::ErrorResponse(req, only.error());
    auto name = r.String("signal");
    if (!name.ok()) return http::ErrorResponse(req, name.error());
    if (!*name) return http::ErrorResponse(req, Error::BadRequest("invalid_value", "signal is required"));
    auto parsed = ParseSignalName(**name);
    if (!parsed) return http::ErrorResponse(req, Error::BadRequest("invalid_signal", "unsupported signal " + **name));
    sig = *parsed;
  } else if (action != "kill") {
    return http::ErrorResponse(req, Error::NotFound("no such route"));
  }
  if (!run->SendSignal(sig)) return http::ErrorResponse(req, Error::Make("not_running", "the run has ended", 409));
  return Json(req, status::ok, json::object{{"ok", true}});
}

// ---- WebSocket ------------------------------------------------------------

struct WsSession {
  explicit WsSession(asio::any_io_executor ex) : wakeup(ex), writer_done(ex) {}
  websocket::stream<http::Stream&>* ws = nullptr;
  std::deque<std::string> out;
  bool closing = false;
  bool writer_running = true;
  Notifier wakeup, writer_done;
  std::map<std::string, std::weak_ptr<Run>> runs;

  void Send(const json::object& frame) {
    if (closing) return;
    out.push_back(Serialize(frame));
    wakeup.Notify();
  }
  void SendError(const Error& e, const std::string& id = "", const std::string& run = "") {
    json::object f{{"type", "error"}, {"code", e.code}, {"message", e.message}};
    if (!id.empty()) f["id"] = id;
    if (!run.empty()) f["run"] = run;
    Send(f);
  }
};

asio::awaitable<void> WsWriter(std::shared_ptr<WsSession> s) {
  for (;;) {
    while (s->out.empty() && !s->closing) co_await s->wakeup.WaitUntil(Clock::time_point::max());
    if (s->out.empty()) break;
    std::string msg = std::move(s->out.front());
    s->out.pop_front();
    s->ws->text(true);
    boost::system::error_code ec;
    co_await s->ws->async_write(asio::buffer(msg), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      s->closing = true;
      s->out.clear();
      break;
    }
  }
  s->writer_running = false;
  s->writer_done.Notify();
}

void OnRunEvent(std::weak_ptr<WsSession> weak, json::object frame) {
  if (auto s = weak.lock()) s->Send(frame);
}

void HandleFrame(ServerState* st, const std::shared_ptr<WsSession>& s, std::string_view text) {
  auto parsed = ParseJsonObject(text, false);
  if (!parsed.ok()) return s->SendError(parsed.error());
  const json::object& f = *parsed;
  JsonReader r(f);
  auto type = r.String("type");
  if (!type.ok()) return s->SendError(type.error());
  if (!*type) return s->SendError(Error::BadRequest("invalid_value", "type is required"));
  const std::string& t = **type;
  if (t == "ping") {
    if (auto only = r.Only({"type"}); !only.ok()) return s->SendError(only.error());
    return s->Send(json::object{{"type", "pong"}});
  }
  if (t == "start") {
    std::string id;
    if (auto it = f.find("id"); it != f.end() && it->value().is_string()) id = std::string(it->value().as_string());
    auto req = ParseRunRequest(f, st->runner->config().defaults, st->runner->config().maxima, true);
    if (!req.ok()) return s->SendError(req.error(), id);
    auto run = st->runner->Prepare(std::move(req).value());
    if (!run.ok()) return s->SendError(run.error(), id);
    std::shared_ptr<Run> rn = *run;
    rn->on_event = std::bind(OnRunEvent, std::weak_ptr<WsSession>(s), std::placeholders::_1);
    s->runs[rn->id] = rn;
    json::object started{{"type", "started"}, {"run", rn->id}, {"language", rn->language->id}, {"tty", rn->request.tty}};
    if (!id.empty()) started["id"] = id;
    s->Send(started);
    st->runner->Start(rn);
    // Forget finished runs of this connection.
    for (auto it = s->runs.begin(); it != s->runs.end();) {
      auto p = it->second.lock();
      it = (!p || p->finished) && it->first != rn->id ? s->runs.erase(it) : std::next(it);
    }
    return;
  }
  static const std::map<std::string, std::vector<std::string_view>> kFields = {
      {"stdin", {"type", "run", "data"}},
      {"stdin_close", {"type", "run"}},
      {"resize", {"type", "run", "cols", "rows"}},
      {"signal", {"type", "run", "signal"}},
      {"kill", {"type", "run"}},
  };
  auto fields = kFields.find(t);
  if (fields == kFields.end()) return s->SendError(Error::BadRequest("unknown_type", "unknown frame type \"" + t + "\""));
  for (const auto& kv : f) {
    if (std::find(fields->second.begin(), fields->second.end(), kv.key()) == fields->second.end())
      return s->SendError(Error::BadRequest("unknown_field", "unknown field \"" + std::string(kv.key()) + "\""));
  }
  auto run_id = r.String("run");
  if (!run_id.ok()) return s->SendError(run_id.error());
  if (!*run_id) return s->SendError(Error::BadRequest("invalid_value", "run is required"));
  auto it = s->runs.find(**run_id);
  std::shared_ptr<Run> run = it == s->runs.end() ? nullptr : it->second.lock();
  if (!run) return s->SendError(Error::BadRequest("unknown_run", "no run " + **run_id + " on this connection"));
  if (t == "stdin") {
    auto data = r.String("data");
    if (!data.ok()) return s->SendError(data.error(), "", run->id);
    if (*data) run->WriteStdin(std::move(**data));
  } else if (t == "stdin_close") {
    run->CloseStdin();
  } else if (t == "resize") {
    auto cols = r.Int("cols", 1, 1000);
    if (!cols.ok()) return s->SendError(cols.error(), "", run->id);
    auto rows = r.Int("rows", 1, 1000);
    if (!rows.ok()) return s->SendError(rows.error(), "", run->id);
    if (!*cols || !*rows) return s->SendError(Error::BadRequest("invalid_value", "cols and rows are required"), "", run->id);
    if (auto res = run->Resize(static_cast<int>(**cols), static_cast<int>(**rows)); !res.ok())
      return s->SendError(res.error(), "", run->id);
  } else if (t == "signal") {
    auto name = r.String("signal");
    if (!name.ok()) return s->SendError(name.error(), "", run->id);
    auto sig = *name ? ParseSignalName(**name) : std::nullopt;
    if (!sig) return s->SendError(Error::BadRequest("invalid_signal", "unsupported signal"), "", run->id);
    run->SendSignal(*sig);
  } else if (t == "kill") {
    run->Kill();
  }
}

asio::awaitable<void> ServeWebSocket(ServerState* st, http::Request& req, http::Stream& stream) {
  auto ex = stream.get_executor();
  websocket::stream<http::Stream&> ws(stream);
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.read_message_max(8 << 20);
  boost::system::error_code ec;
  co_await ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  auto s = std::make_shared<WsSession>(ex);
  s->ws = &ws;
  asio::co_spawn(ex, WsWriter(s), asio::detached);
  beast::flat_buffer buf;
  for (;;) {
    co_await ws.async_read(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (!ws.got_text()) {
      s->SendError(Error::BadRequest("malformed_json", "frames must be text (JSON)"));
    } else {
      HandleFrame(st, s, std::string_view(static_cast<const char*>(buf.data().data()), buf.size()));
    }
    buf.consume(buf.size());
  }
  // The connection is gone: its runs go too.
  for (auto& [id, weak] : s->runs) {
    if (auto run = weak.lock()) {
      run->on_event = nullptr;
      run->Kill();
    }
  }
  s->closing = true;
  s->out.clear();
  s->wakeup.Notify();
  auto deadline = Clock::now() + 2s;
  while (s->writer_running && Clock::now() < deadline) co_await s->writer_done.WaitUntil(deadline);
  if (s->writer_running) {
    beast::get_lowest_layer(stream).socket().cancel(ec);
    while (s->writer_running) co_await s->writer_done.WaitUntil(Clock::now() + 100ms);
  }
}

asio::awaitable<std::optional<http::Response>> Handle(ServerState* st, http::Request& req, http::Stream& stream,
                                                      beast::flat_buffer&) {
  auto target = http::ParseTarget(req.target());
  if (!target.ok()) co_return http::ErrorResponse(req, target.error());
  const std::string& path = target->path;
  auto method_not_allowed = [&](const char* allowed) {
    auto r = http::ErrorResponse(req, Error::Make("method_not_allowed", std::string("use ") + allowed, 405));
    r.set(http::bhttp::field::allow, allowed);
    return r;
  };
  if (path == "/healthz") {
    if (req.method() != verb::get) co_return method_not_allowed("GET");
    co_return Json(req, status::ok, json::object{{"ok", true}});
  }
  if (path == "/languages") {
    if (req.method() != verb::get) co_return method_not_allowed("GET");
    auto deadline = Clock::now() + 20s;
    while (st->probes_pending > 0 && Clock::now() < deadline) co_await st->probes_done.WaitUntil(deadline);
    json::array langs;
    for (const auto& l : st->languages) {
      json::array exts;
      for (const auto& e : l.extensions) exts.push_back(json::string(e));
      langs.push_back(json::object{{"id", l.id},
                                   {"name", l.name},
                                   {"version", l.version},
                                   {"extensions", exts},
                                   {"compiled", l.compiled()},
                                   {"available", l.available}});
    }
    co_return Json(req, status::ok, json::object{{"languages", langs}});
  }
  if (path == "/ws") {
    if (req.method() != verb::get) co_return method_not_allowed("GET");
    if (!websocket::is_upgrade(req))
      co_return http::ErrorResponse(req, Error::BadRequest("websocket_required", "GET /ws is a WebSocket endpoint"));
    co_await ServeWebSocket(st, req, stream);
    co_return std::nullopt;
  }
  if (path == "/runs") {
    if (req.method() == verb::post) co_return co_await HandleRun(st, req);
    if (req.method() != verb::get) co_return method_not_allowed("GET, POST");
    json::array runs;
    for (const auto& r : st->runner->Recent()) runs.push_back(r->Summary());
    co_return Json(req, status::ok, json::object{{"runs", runs}});
  }
  if (path.rfind("/runs/", 0) == 0) {
    std::string rest = path.substr(6);
    std::string id = rest, action;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      id = rest.substr(0, slash);
      action = rest.substr(slash + 1);
    }
    co_return HandleRunAction(st, req, id, action);
  }
  co_return http::ErrorResponse(req, Error::NotFound("no route for " + path));
}

Result<std::vector<Language>> LoadLanguages(const std::string& file) {
  if (file.empty()) return ParseLanguages(DefaultLanguagesJson());
  std::ifstream in(file);
  if (!in) return Error::Make("invalid_value", "cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseLanguages(ss.str());
  if (!r.ok()) return Error::Make(r.error().code, file + ": " + r.error().message);
  return r;
}

bool SandboxWorks() {
  sandbox::Spec spec;
  spec.argv = {"/bin/true"};
  spec.limits.wall_time_ms = 5000;
  auto p = sandbox::Launch(spec);
  if (!p.ok()) {
    spdlog::warn("sandbox probe failed: {}", p.error().message);
    return false;
  }
  auto o = (*p)->Wait();
  return o.ok() && o->exit_code == 0;
}

}  // namespace

int ServerMain(const Options& options) {
  InitLogging("runner", options.log_level);
  signal(SIGPIPE, SIG_IGN);
  char* real = realpath(options.root.c_str(), nullptr);
  if (!real) {
    spdlog::error("--root {}: {}", options.root, strerror(errno));
    return 1;
  }
  std::string root = real;
  free(real);
  auto endpoint = Endpoint::Parse(options.listen);
  if (!endpoint.ok()) {
    spdlog::error("--listen: {}", endpoint.error().message);
    return 1;
  }
  RunnerConfig config;
  config.root = root;
  if (options.isolation == "sandbox") {
    config.isolation = Isolation::kSandbox;
  } else if (options.isolation == "process") {
    config.isolation = Isolation::kProcess;
  } else if (options.isolation == "auto") {
    config.isolation = SandboxWorks() ? Isolation::kSandbox : Isolation::kProcess;
    if (config.isolation == Isolation::kProcess)
      spdlog::warn("isolation=auto: the sandbox does not work here, runs are plain processes under rlimits");
  } else {
    spdlog::error("--isolation must be sandbox, process or auto");
    return 1;
  }
  // Runs share one shape (the workspace at /workspace): sandboxes built ahead
  // let a run only hand over what to run (docs/sandbox.md). Off by default
  // until an unexplained crash in that path (seen once in CI, in
  // sandbox_launch_test) is found; PG_SANDBOX_PREWARM=N turns it on.
  if (config.isolation == Isolation::kSandbox) {
    if (const char* n = std::getenv("PG_SANDBOX_PREWARM"); n && std::atoi(n) > 0) sandbox::SetPrewarm(std::atoi(n));
  }
  // Process isolation: what a run leaves behind after its keeper was killed
  // re-parents to this server and goes at the end of the run.
  if (config.isolation == Isolation::kProcess) AdoptOrphansOfRuns();
  config.maxima = RunLimits{options.max_cpu_ms,       options.max_wall_ms,      options.max_memory_kb,
                            options.max_processes,    options.max_output_bytes, options.max_file_size_kb};
  auto clamp = [](int64_t& v, int64_t max) { v = std::min(v, max); };
  clamp(config.defaults.cpu_ms, config.maxima.cpu_ms);
  clamp(config.defaults.wall_ms, config.maxima.wall_ms);
  clamp(config.defaults.memory_kb, config.maxima.memory_kb);
  clamp(config.defaults.processes, config.maxima.processes);
  clamp(config.defaults.output_bytes, config.maxima.output_bytes);
  clamp(config.defaults.file_size_kb, config.maxima.file_size_kb);
  config.max_running = static_cast<size_t>(std::max(1, options.max_runs));
  config.run_uid = static_cast<uid_t>(options.run_uid);
  config.run_gid = static_cast<gid_t>(options.run_gid ? options.run_gid : options.run_uid);

  asio::io_context io(1);
  ServerState st(io.get_executor());
  auto langs = LoadLanguages(options.languages_file);
  if (!langs.ok()) {
    spdlog::error("language table: {}", langs.error().message);
    return 1;
  }
  st.languages = std::move(langs).value();
  st.runner = std::make_unique<Runner>(io.get_executor(), config, &st.languages);
  StartProbes(&st, io.get_executor());

  http::ServerOptions sopts;
  sopts.body_limit = 8 << 20;
  http::Server server(
      io.get_executor(),
      [&st](http::Request& req, http::Stream& stream, beast::flat_buffer& buffer) {
        return Handle(&st, req, stream, buffer);
      },
      sopts);
  auto bound = server.Listen(*endpoint);
  if (!bound.ok()) {
    spdlog::error("listen {}: {}", options.listen, bound.error().message);
    return 1;
  }
  server.Start();
  spdlog::info("runner serving {} on {} (isolation {})", root, bound->ToString(),
               config.isolation == Isolation::kSandbox ? "sandbox" : "process");
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.Stop();
    io.stop();
  });
  io.run();
  st.runner.reset();
  sandbox::SetPrewarm(0);  // ends the prewarmed sandboxes and removes their cgroups
  return 0;
}

}  // namespace pg::runner
