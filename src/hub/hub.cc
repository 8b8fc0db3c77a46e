#include "hub/hub.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/crypto.h"
#include "common/http_server.h"
#include "common/log.h"
#include "hub/api.h"
#include "hub/auth.h"
#include "hub/lifecycle.h"
#include "hub/routes.h"
#include "orchestrator/docker/docker_orchestrator.h"
#include "orchestrator/ecs/ecs_orchestrator.h"
#include "orchestrator/local/local_orchestrator.h"
#include "registry/registry.h"

namespace pg::hub {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

// The admin token: $PLAYGROUND_ADMIN_TOKEN, else <data-dir>/admin-token,
// else a new one written there with mode 0600.
std::string AdminToken(const std::string& data_dir) {
  if (const char* e = std::getenv("PLAYGROUND_ADMIN_TOKEN"); e && *e) return e;
  std::string path = data_dir + "/admin-token";
  {
    std::ifstream f(path);
    std::string t;
    if (f && std::getline(f, t) && !t.empty()) return t;
  }
  std::string t = "pga_" + RandomToken(32);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path);
  std::string line = t + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    throw std::runtime_error("cannot write " + path);
  }
  fsync(fd);
  close(fd);
  return t;
}

asio::awaitable<std::optional<http::Response>> Dispatch(Api* api, http::Request& req, http::Stream& s,
                                                        boost::beast::flat_buffer& b) {
  co_return co_await api->Handle(req, s, b);
}

}  // namespace

int ServeMain(const Options& opts) {
  InitLogging("hub", opts.log_level);
  signal(SIGPIPE, SIG_IGN);
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  std::string data_dir = fs::absolute(opts.data_dir).lexically_normal().string();
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  chmod(data_dir.c_str(), 0711);

  std::unique_ptr<registry::Registry> reg;
  std::unique_ptr<orchestrator::Orchestrator> orch;
  std::string admin_token;
  try {
    admin_token = AdminToken(data_dir);
    auto r = registry::Registry::Open(data_dir + "/registry.db");
    if (!r.ok()) throw std::runtime_error(r.error().message);
    reg = std::move(r).value();
    if (opts.orchestrator == "local") {
      orchestrator::LocalConfig cfg;
      cfg.data_dir = data_dir;
      cfg.binary = SelfExe();
      cfg.warm_pool = opts.warm_pool;
      orch = orchestrator::MakeLocalOrchestrator(cfg);
    } else if (opts.orchestrator == "docker") {
      orchestrator::DockerConfig cfg;
      cfg.data_dir = data_dir;
      auto o = orchestrator::MakeDockerOrchestrator(cfg);
      if (!o.ok()) throw std::runtime_error(o.error().message);
      orch = std::move(o).value();
    } else if (opts.orchestrator == "ecs") {
      auto o = orchestrator::MakeEcsOrchestrator(data_dir);
      if (!o.ok()) throw std::runtime_error(o.error().message);
      orch = std::move(o).value();
    } else {
      throw std::runtime_error("unknown orchestrator " + opts.orchestrator);
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }

  std::string web_dir = opts.web_dir;
  if (web_dir.empty()) {
    fs::path exe = SelfExe();
    for (auto cand : {exe.parent_path().parent_path() / "web" / "dist", exe.parent_path() / "web"}) {
      if (fs::exists(cand / "index.html")) {
        web_dir = cand.string();
        break;
      }
    }
  }

  RouteTable routes;
  auto ready_timeout = std::chrono::milliseconds(opts.orchestrator == "ecs" ? 600000 : 30000);
  Lifecycle life(reg.get(), orch.get(), &routes, ready_timeout);
  spdlog::info("reconciling registry ({} orchestrator)", orch->Name());
  life.Reconcile();

  asio::io_context io(1);
  asio::thread_pool pool(16);
  Authenticator auth(reg.get(), admin_token);
  ApiConfig api_cfg;
  api_cfg.base_domain = opts.base_domain;
  api_cfg.web_dir = web_dir;
  api_cfg.ready_timeout = ready_timeout;
  for (auto [spec, env, out] : {std::tuple{opts.api_rate, "PLAYGROUND_API_RATE", &api_cfg.api_rate},
                                std::tuple{opts.run_rate, "PLAYGROUND_RUN_RATE", &api_cfg.run_rate}}) {
    if (const char* e = std::getenv(env); e && *e) spec = e;
    if (!ParseRateSpec(spec, out)) {
      spdlog::critical("bad rate limit {} (want RATE:BURST per second)", spec);
      return 1;
    }
  }
  Api api(io.get_executor(), &pool, reg.get(), &life, &routes, &auth, api_cfg);

  http::ServerOptions sopts;
  sopts.body_limit = 1 << 20;
  sopts.server_name = "playground-hub";
  http::Server server(io.get_executor(),
                      [&api](http::Request& req, http::Stream& s, boost::beast::flat_buffer& b) {
                        return Dispatch(&api, req, s, b);
                      },
                      sopts);
  auto where = Endpoint::Parse(opts.listen);
  if (!where.ok()) {
    spdlog::critical("bad --listen: {}", where.error().message);
    return 1;
  }
  auto bound = server.Listen(*where);
  if (!bound.ok()) {
    spdlog::critical("{}", bound.error().message);
    return 1;
  }
  server.Start();
  std::string host = bound->host == "0.0.0.0" ? "127.0.0.1" : bound->host;
  std::string url = opts.public_url.empty() ? "http://" + Endpoint::Tcp(host, bound->port).Authority() : opts.public_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::cout << "listening on " << url << "\n"
            << "open the IDE: " << url << "/login?token=" << admin_token << "\n"
            << std::flush;
  spdlog::info("hub ready: {} playgrounds routed, web IDE from {}", routes.size(),
               web_dir.empty() ? "(not built)" : web_dir);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: shutting down (playgrounds keep running)", sig);
    server.Stop();
    io.stop();
  });
  io.run();
  pool.stop();
  pool.join();
  orch->Shutdown();
  return 0;
}

}  // namespace pg::hub
