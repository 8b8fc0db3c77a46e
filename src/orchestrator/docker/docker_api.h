// A small client for the Docker Engine API (v1.41) over the engine's unix
// socket, on pg::http::Fetch (no docker CLI). Plus two wire formats: tar
// archives (build contexts for POST /build; the tests build an image) and
// the multiplexed log stream. Thread-safe: every call uses its own connection.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace pg::orchestrator::docker {

inline constexpr std::string_view kApiVersion = "v1.41";

struct Reply {
  int status = 0;
  std::string body;
};

class Api {
 public:
  // `socket_path`: absolute path of the engine's unix socket.
  explicit Api(std::string socket_path) : socket_(std::move(socket_path)) {}

  const std::string& socket() const { return socket_; }

  // One request; `path` starts with '/' and omits the version prefix
  // ("/containers/json?all=1"). Any HTTP status is a Reply; transport
  // failures are errors ("unreachable", "timeout").
  Result<Reply> Call(boost::beast::http::verb method, const std::string& path, std::string body = {},
                     std::string content_type = "application/json",
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  // A call whose 2xx reply is JSON (an empty body is null). A non-2xx reply
  // is an Error carrying the engine's message, code "not_found" (404),
  // "conflict" (409) or "docker_error" (anything else; status 502).
  Result<json::value> Json(boost::beast::http::verb method, const std::string& path,
                           const json::value* body = nullptr,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

 private:
  std::string socket_;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

// A ustar archive of regular files (mode 0644) and the directories leading
// to them (mode 0755), all owned by uid:gid. Fails with "invalid_path" for
// a path NormalizeRelativePath rejects or one too long for ustar.
Result<std::string> MakeTar(const std::vector<std::pair<std::string, std::string>>& files, int uid, int gid);

// Decodes the stream of GET /containers/{id}/logs for a container without a
// TTY (8-byte frame headers) into the concatenated text. A truncated last
// frame is kept as far as it goes.
std::string DemuxLogs(std::string_view raw);

}  // namespace pg::orchestrator::docker
