// The workspace server: `playground workspace-server --root DIR --listen
// unix:PATH|tcp:HOST:PORT`. File tree operations and collaborative editing
// over WebSocket, plus a small REST surface for the hub:
//   GET  /healthz                   200 when serving
//   GET  /files/                    the tree as JSON
//   GET  /files/{path}              the bytes of a file
//   PUT  /files/{path}              raw body → 204
//   DELETE /files/{path}            → 204
//   GET  /ws  (WebSocket upgrade)   the protocol of docs/protocol-workspace.md
#pragma once

#include <string>

namespace pg::workspace {

struct Options {
  std::string root = "/workspace";
  std::string listen = "unix:/run/playground/workspace.sock";
  std::string log_level = "info";
};

// Runs until SIGTERM/SIGINT (flushing every open document first). Returns the
// process exit code.
int ServerMain(const Options& options);

}  // namespace pg::workspace
