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

#include <cstddef>
#include <string>

namespace pg::workspace {

struct Options {
  std::string root = "/workspace";
  std::string listen = "unix:/run/playground/workspace.sock";
  std::string log_level = "info";
  size_t max_file_bytes = 10 << 20;      // read/write/create/PUT and document size
  size_t max_message_bytes = 16 << 20;  // one WebSocket message (close 1009 beyond)
  size_t max_open_docs = 64;            // per client
  double rate_limit = 2000;             // messages per second per client (burst 2×)
  int save_delay_ms = 100;              // debounce of document saves
};

// Runs until SIGTERM/SIGINT (flushing every open document first). Returns the
// process exit code.
int ServerMain(const Options& options);

}  // namespace pg::workspace
