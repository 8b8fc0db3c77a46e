#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/client.h"
#include "hub/hub.h"
#include "runner/runner_server.h"
#include "workspace/workspace_server.h"

namespace pg::cli {

int Main(int argc, char** argv) {
  CLI::App app{"playground: a self-hosted online IDE with isolated coding playgrounds"};
  app.require_subcommand(1);

  hub::Options hub_opts;
  auto* serve = app.add_subcommand("serve", "run the hub (control plane, router and web IDE)");
  serve->add_option("--listen", hub_opts.listen, "ADDR:PORT to listen on")->capture_default_str();
  serve->add_option("--data-dir", hub_opts.data_dir, "registry, volumes and sockets")->capture_default_str();
  serve->add_option("--orchestrator", hub_opts.orchestrator, "local | docker | ecs")
      ->check(CLI::IsMember({"local", "docker", "ecs"}))
      ->capture_default_str();
  serve->add_option("--base-domain", hub_opts.base_domain, "route <id>.<base-domain> to playgrounds");
  serve->add_option("--web-dir", hub_opts.web_dir, "directory of the built web IDE");
  serve->add_option("--public-url", hub_opts.public_url, "URL users reach the hub at");
  serve->add_option("--log-level", hub_opts.log_level)->capture_default_str();
  serve->add_option("--rate-limit-api", hub_opts.api_rate, "control-plane requests: RATE:BURST per second per client and per token (0 = off)")
      ->capture_default_str();
  serve->add_option("--rate-limit-runs", hub_opts.run_rate, "run starts: RATE:BURST per second per client and per token")
      ->capture_default_str();
  serve->add_option("--warm-pool", hub_opts.warm_pool,
                    "local orchestrator: playgrounds with default limits kept ready ahead of creates (0 = off)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();

  workspace::Options ws_opts;
  auto* ws = app.add_subcommand("workspace-server", "serve a playground's files and collaborative editing");
  ws->add_option("--root", ws_opts.root)->capture_default_str();
  ws->add_option("--listen", ws_opts.listen, "unix:PATH or tcp:HOST:PORT")->capture_default_str();
  ws->add_option("--log-level", ws_opts.log_level)->capture_default_str();
  ws->add_option("--max-file-bytes", ws_opts.max_file_bytes, "file and document size limit")->capture_default_str();
  ws->add_option("--max-message-bytes", ws_opts.max_message_bytes, "WebSocket message limit")->capture_default_str();
  ws->add_option("--max-open-docs", ws_opts.max_open_docs, "open documents per client")->capture_default_str();
  ws->add_option("--rate-limit", ws_opts.rate_limit, "messages per second per client")->capture_default_str();
  ws->add_option("--save-delay-ms", ws_opts.save_delay_ms, "debounce of document saves")->capture_default_str();

  runner::Options run_opts;
  auto* run = app.add_subcommand("runner-server", "run a playground's code under hard limits");
  run->add_option("--root", run_opts.root)->capture_default_str();
  run->add_option("--listen", run_opts.listen, "unix:PATH or tcp:HOST:PORT")->capture_default_str();
  run->add_option("--languages", run_opts.languages_file, "language table (JSON)");
  run->add_option("--isolation", run_opts.isolation, "sandbox, process (rlimits only) or auto")->capture_default_str();
  run->add_option("--max-cpu-ms", run_opts.max_cpu_ms)->capture_default_str();
  run->add_option("--max-wall-ms", run_opts.max_wall_ms)->capture_default_str();
  run->add_option("--max-memory-kb", run_opts.max_memory_kb)->capture_default_str();
  run->add_option("--max-processes", run_opts.max_processes)->capture_default_str();
  run->add_option("--max-output-bytes", run_opts.max_output_bytes)->capture_default_str();
  run->add_option("--max-file-size-kb", run_opts.max_file_size_kb)->capture_default_str();
  run->add_option("--max-runs", run_opts.max_runs, "runs at once")->capture_default_str();
  run->add_option("--run-uid", run_opts.run_uid, "isolation=process as root: uid of the runs")->capture_default_str();
  run->add_option("--run-gid", run_opts.run_gid, "isolation=process as root: gid of the runs")->capture_default_str();
  run->add_option("--log-level", run_opts.log_level)->capture_default_str();

  ClientCommands client;
  RegisterClientCommands(app, client);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve->parsed()) return hub::ServeMain(hub_opts);
  if (ws->parsed()) return workspace::ServerMain(ws_opts);
  if (run->parsed()) return runner::ServerMain(run_opts);
  return RunClientCommand(app, client);
}

}  // namespace pg::cli
