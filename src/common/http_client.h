// A blocking HTTP/1.1 client (Boost.Beast) for control-plane calls: the
// Docker Engine API over its unix socket, AWS APIs over HTTPS, readiness
// probes. Each call uses its own connection; call it off the event loop.
#pragma once

#include <boost/beast/http.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/endpoint.h"
#include "common/result.h"

namespace pg::http {

// A parsed absolute URL. Accepted forms:
//   http://host[:port]/path?query      https://host[:port]/path
//   unix:/path/to.sock:/http/path      (HTTP over a unix socket)
struct Url {
  bool tls = false;
  Endpoint endpoint;
  std::string host_header;  // "host" or "host:port"
  std::string target;       // "/path?query", never empty
  static Result<Url> Parse(std::string_view url);
};

struct ClientRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(std::string_view name) const;  // case-insensitive; "" when absent
};

// Sends `req` and reads the whole response. Transport failures (refused,
// reset, timeout, TLS) are errors with code "unreachable" or "timeout";
// any HTTP status is a successful ClientResponse.
Result<ClientResponse> Fetch(const ClientRequest& req);

}  // namespace pg::http
