// The hub: the control plane. `playground serve` creates, lists, stops,
// starts and deletes playgrounds through an Orchestrator, keeps the registry,
// routes /p/<id>/... and <id>.<base-domain> to the right playground, and
// serves the web IDE.
#pragma once

#include <string>

namespace pg::hub {

struct Options {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string orchestrator = "local";  // local | docker | ecs
  std::string base_domain;             // enables <id>.<base-domain> routing
  std::string web_dir;                 // built IDE (web/dist); empty: next to the binary
  std::string public_url;              // how users reach the hub (login links); default from listen
  std::string log_level = "info";
  // Rate limits "RATE:BURST" per second, per client address and per token;
  // "0" disables. Environment PLAYGROUND_API_RATE / PLAYGROUND_RUN_RATE
  // override these.
  std::string api_rate = "50:200";  // control plane: /api/..., /login
  std::string run_rate = "5:20";    // run starts
  int warm_pool = 2;                // local orchestrator: playgrounds made ahead of time
};

// Runs the hub until SIGTERM/SIGINT. Returns the process exit code.
int ServeMain(const Options& options);

}  // namespace pg::hub
