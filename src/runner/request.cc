#include "runner/request.h"

#include <signal.h>
#include <string.h>

#include <ctime>

#include "common/fs.h"

namespace pg::runner {

RunLimits DefaultMaxima() {
  RunLimits m;
  m.cpu_ms = 30000;
  m.wall_ms = 60000;
  m.memory_kb = 1048576;
  m.processes = 256;
  m.output_bytes = 16 << 20;
  m.file_size_kb = 131072;
  return m;
}

namespace {

Result<void> ReadLimit(const JsonReader& r, std::string_view key, int64_t max, int64_t* out) {
  PG_ASSIGN_OR_RETURN(auto v, r.Int(key, 1, INT64_MAX));
  if (!v) return Ok();
  if (*v > max) {
    return Error::BadRequest("limit_exceeded",
                             r.Name(key) + " is " + std::to_string(*v) + ", the maximum is " + std::to_string(max));
  }
  *out = *v;
  return Ok();
}

}  // namespace

Result<RunRequest> ParseRunRequest(const json::object& body, const RunLimits& defaults, const RunLimits& maxima,
                                   bool websocket) {
  JsonReader r(body);
  if (websocket) {
    PG_RETURN_IF_ERROR(
        r.Only({"type", "id", "language", "entry", "args", "files", "limits", "tty", "cols", "rows"}));
  } else {
    PG_RETURN_IF_ERROR(r.Only({"language", "entry", "args", "stdin", "files", "limits"}));
  }
  RunRequest req;
  req.limits = defaults;
  PG_ASSIGN_OR_RETURN(auto language, r.String("language"));
  if (language) req.language = *language;
  PG_ASSIGN_OR_RETURN(auto entry, r.String("entry"));
  if (entry) {
    if (entry->empty()) return Error::BadRequest("invalid_path", "entry must not be empty");
    PG_ASSIGN_OR_RETURN(req.entry, NormalizeRelativePath(*entry));
  }
  PG_ASSIGN_OR_RETURN(auto args, r.StringArray("args"));
  if (args) {
    if (args->size() > 1024) return Error::BadRequest("invalid_value", "args has more than 1024 elements");
    for (const auto& a : *args) {
      if (a.find('\0') != std::string::npos) return Error::BadRequest("invalid_value", "args must not contain NUL");
    }
    req.args = std::move(*args);
  }
  if (!websocket) {
    PG_ASSIGN_OR_RETURN(auto in, r.String("stdin"));
    if (in) req.stdin_data = std::move(*in);
  }
  PG_ASSIGN_OR_RETURN(const json::object* files, r.Object("files"));
  if (files) {
    if (files->size() > 1000) return Error::BadRequest("invalid_value", "files has more than 1000 entries");
    for (const auto& kv : *files) {
      if (!kv.value().is_string())
        return Error::BadRequest("invalid_type", "files." + std::string(kv.key()) + " must be a string");
      PG_ASSIGN_OR_RETURN(std::string path, NormalizeRelativePath(kv.key()));
      req.files.emplace_back(std::move(path), std::string(kv.value().as_string()));
    }
  }
  if (req.entry.empty()) {
    if (req.files.empty()) return Error::BadRequest("invalid_value", "entry or files is required");
    req.entry = req.files.front().first;
  }
  PG_ASSIGN_OR_RETURN(const json::object* limits, r.Object("limits"));
  if (limits) {
    JsonReader l(*limits, "limits");
    PG_RETURN_IF_ERROR(l.Only({"cpu_ms", "wall_ms", "memory_kb", "processes", "output_bytes", "file_size_kb"}));
    PG_RETURN_IF_ERROR(ReadLimit(l, "cpu_ms", maxima.cpu_ms, &req.limits.cpu_ms));
    PG_RETURN_IF_ERROR(ReadLimit(l, "wall_ms", maxima.wall_ms, &req.limits.wall_ms));
    PG_RETURN_IF_ERROR(ReadLimit(l, "memory_kb", maxima.memory_kb, &req.limits.memory_kb));
    PG_RETURN_IF_ERROR(ReadLimit(l, "processes", maxima.processes, &req.limits.processes));
    PG_RETURN_IF_ERROR(ReadLimit(l, "output_bytes", maxima.output_bytes, &req.limits.output_bytes));
    PG_RETURN_IF_ERROR(ReadLimit(l, "file_size_kb", maxima.file_size_kb, &req.limits.file_size_kb));
  }
  if (websocket) {
    req.interactive = true;
    PG_ASSIGN_OR_RETURN(auto id, r.String("id"));
    if (id) {
      if (id->size() > 64) return Error::BadRequest("invalid_value", "id is longer than 64 bytes");
      req.client_id = *id;
    }
    PG_ASSIGN_OR_RETURN(auto tty, r.Bool("tty"));
    req.tty = tty.value_or(false);
    PG_ASSIGN_OR_RETURN(auto cols, r.Int("cols", 1, 1000));
    PG_ASSIGN_OR_RETURN(auto rows, r.Int("rows", 1, 1000));
    if (cols) req.cols = static_cast<int>(*cols);
    if (rows) req.rows = static_cast<int>(*rows);
  }
  return req;
}

std::string SanitizeUtf8(std::string_view in, std::string* carry) {
  std::string out;
  out.reserve(in.size());
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size(), i = 0;
  static const char kReplacement[] = "\xEF\xBF\xBD";
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = 1;
    bool bad = false;
    for (; j < len && i + j < n; ++j) {
      if ((s[i + j] & 0xC0) != 0x80) {
        bad = true;
        break;
      }
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (!bad && j < len) {  // truncated at the end
      if (carry) {
        *carry = std::string(in.substr(i));
        return out;
      }
      out += kReplacement;
      break;
    }
    if (bad || (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(in.substr(i, len));
    i += len;
  }
  if (carry) carry->clear();
  return out;
}

namespace {
struct SigName {
  int sig;
  const char* name;
};
constexpr SigName kSignals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},
    {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
    {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},   {SIGWINCH, "SIGWINCH"},
};
}  // namespace

std::optional<int> ParseSignalName(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {"SIGINT",  "SIGTERM", "SIGKILL", "SIGHUP", "SIGQUIT",
                                                  "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT"};
  for (auto a : kAllowed) {
    if (a == name) {
      for (const auto& s : kSignals) {
        if (name == s.name) return s.sig;
      }
    }
  }
  return std::nullopt;
}

std::string SignalName(int sig) {
  for (const auto& s : kSignals) {
    if (s.sig == sig) return s.name;
  }
  return "SIG" + std::to_string(sig);
}

std::string IsoTime(int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace pg::runner
