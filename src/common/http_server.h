// A small HTTP/1.1 server on Boost.Beast, listening on TCP or a unix socket,
// shared by the hub, the workspace server and the runner server.
//
// One coroutine per connection; keep-alive; a body limit (413 beyond it);
// header and idle timeouts. A handler either returns a response, or takes
// the connection over (WebSocket upgrades, proxying) and returns nullopt.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/endpoint.h"
#include "common/result.h"

namespace pg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Protocol = asio::generic::stream_protocol;
using Socket = Protocol::socket;
using Acceptor = asio::basic_socket_acceptor<Protocol>;
using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Called for every request. `stream` and `buffer` (bytes read past the
// request) belong to the connection; a handler that returns nullopt has taken
// the connection over and must not touch them after it returns... it owns
// them only for the duration of the call (the server closes the connection
// afterwards).
using Handler =
    std::function<asio::awaitable<std::optional<Response>>(Request& req, Stream& stream, beast::flat_buffer& buffer)>;

struct ServerOptions {
  size_t body_limit = 1 << 20;                      // larger bodies get 413
  std::chrono::seconds header_timeout{30};          // time to send a request
  std::chrono::seconds idle_timeout{120};           // keep-alive idle
  std::string server_name = "playground";
};

class Server {
 public:
  // `ex` must outlive the server. Not thread-safe: use from `ex` only.
  Server(asio::any_io_executor ex, Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (a stale unix socket file is replaced) and listens. Returns the
  // bound endpoint, with port 0 resolved to the kernel's choice.
  Result<Endpoint> Listen(const Endpoint& where);
  // Starts accepting. Precondition: Listen succeeded.
  void Start();
  // Stops accepting; open connections end when the executor stops.
  void Stop();

  size_t open_connections() const { return *open_; }

 private:
  asio::any_io_executor ex_;
  std::shared_ptr<Handler> handler_;
  ServerOptions options_;
  std::unique_ptr<Acceptor> acceptor_;
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
  std::string unix_path_;
};

// Response helpers: keep-alive and version copied from `req`.
Response MakeResponse(const Request& req, bhttp::status status, std::string body,
                      std::string_view content_type = "application/json");
Response ErrorResponse(const Request& req, const Error& e);  // status from e.status (500 when 0)
Response NoContent(const Request& req);

// Splits "a/b?x=1&y=2" into path and decoded query parameters.
struct Target {
  std::string path;  // percent-decoded
  std::string raw_path;  // as sent
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::string> Query(std::string_view key) const;
};
Result<Target> ParseTarget(std::string_view target);
Result<std::string> PercentDecode(std::string_view s);
std::string PercentEncodePath(std::string_view s);  // keeps '/' and unreserved

}  // namespace pg::http
