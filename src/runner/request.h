// A run request (POST /runs body or a WebSocket "start" frame), checked
// against the operator's maxima, and the helpers that shape results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace pg::runner {

struct RunLimits {
  int64_t cpu_ms = 5000;
  int64_t wall_ms = 10000;
  int64_t memory_kb = 262144;
  int64_t processes = 64;
  int64_t output_bytes = 1 << 20;
  int64_t file_size_kb = 16384;
};

// Operator maxima (runner-server --max-* options).
RunLimits DefaultMaxima();

struct RunRequest {
  std::string language;  // "" or "auto": from the entry's extension
  std::string entry;     // normalized relative path; "" when absent
  std::vector<std::string> args;
  std::string stdin_data;
  std::vector<std::pair<std::string, std::string>> files;  // normalized path, content (in request order)
  RunLimits limits;
  // WebSocket only.
  bool interactive = false;  // stdin comes from frames (stays open until stdin_close)
  std::string client_id;
  bool tty = false;
  int cols = 80;
  int rows = 24;
};

// Parses a request. `websocket`: the "start" frame schema (type, id, tty,
// cols, rows; no stdin) instead of the REST one. Errors are 400s with the
// codes of docs/protocol-runner.md.
Result<RunRequest> ParseRunRequest(const json::object& body, const RunLimits& defaults, const RunLimits& maxima,
                                   bool websocket);

// Replaces invalid UTF-8 by U+FFFD. When `carry` is non-null, an incomplete
// sequence at the very end is not replaced but moved to *carry (to be
// prepended to the next chunk).
std::string SanitizeUtf8(std::string_view in, std::string* carry = nullptr);

// Signal names <-> numbers (the ones the API accepts: SIGINT, SIGTERM, ...).
std::optional<int> ParseSignalName(std::string_view name);
// "SIGSEGV" etc. for any signal; "SIG<n>" when unknown.
std::string SignalName(int sig);

// "2026-11-28T17:40:00.123Z"
std::string IsoTime(int64_t unix_ms);

}  // namespace pg::runner
