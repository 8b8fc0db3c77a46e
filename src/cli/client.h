// Client commands that talk to a hub over its REST API:
//   playground create [--name N] [--template T]
//   playground ls | show ID | stop ID | start ID | rm ID
//   playground put ID PATH [FILE]   (stdin when FILE is absent)
//   playground get ID PATH          (to stdout)
// Common flags: --hub URL (env PLAYGROUND_HUB, default http://127.0.0.1:8080),
// --token T (env PLAYGROUND_TOKEN, else PLAYGROUND_ADMIN_TOKEN, else
// <data-dir>/admin-token), --data-dir DIR, --json.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace pg::cli {

struct ClientCommands {
  std::string hub;
  std::string token;
  std::string data_dir = "./data";
  bool json = false;
  std::string name, template_name, id, path, file;
  CLI::App* create = nullptr;
  CLI::App* ls = nullptr;
  CLI::App* show = nullptr;
  CLI::App* stop = nullptr;
  CLI::App* start = nullptr;
  CLI::App* rm = nullptr;
  CLI::App* put = nullptr;
  CLI::App* get = nullptr;
};

void RegisterClientCommands(CLI::App& app, ClientCommands& c);
// Runs whichever client command was parsed; returns the exit code.
int RunClientCommand(CLI::App& app, ClientCommands& c);

}  // namespace pg::cli
