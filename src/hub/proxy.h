// Forwarding requests from the hub to a playground's servers.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <memory>
#include <vector>
#include <string>

#include "common/endpoint.h"
#include "common/http_server.h"

namespace pg::hub {

// Sends `*req` (its target rewritten to `target`) to `backend` and returns
// the backend's response; `*req` is not copied, and its target, Host and
// keep-alive are as before on return. Transport failures become 502/504 errors. Backend
// connections are kept alive and reused (a small idle pool per backend,
// owned by the calling io thread). `cancel`, when set and fired (see
// Connections), abandons the request with 401 token_revoked.
boost::asio::awaitable<Result<http::Response>> ForwardHttp(Endpoint backend, http::Request* req, std::string target,
                                                          std::chrono::milliseconds timeout,
                                                          std::shared_ptr<boost::asio::steady_timer> cancel);

struct PipeOptions {
  std::chrono::seconds idle_timeout{600};  // no byte either way for this long: close
};

// Proxies an upgrade request (WebSocket) to `backend`: forwards the request
// with `target`, relays the backend's answer and, on 101, copies bytes both
// ways until either side closes. Backpressure: one bounded buffer per
// direction, nothing is read while the previous chunk is being written.
// `cancel`, when set, closes the pipe from outside (revoked tokens).
boost::asio::awaitable<void> PipeUpgrade(http::Stream& client, http::Request req, boost::beast::flat_buffer& client_buf,
                                         Endpoint backend, std::string target, PipeOptions options,
                                         std::shared_ptr<boost::asio::steady_timer> cancel);

// Like PipeUpgrade for the workspace WebSocket of a viewer, but terminates
// the WebSocket in the hub (one Beast stream per side) and relays message by
// message: a client text message whose JSON "type" is in `refused` is not
// forwarded and gets {"type":"error","id":..,"code":"forbidden"} instead.
// Pings are answered on each side, close codes are passed through, at most
// one message per direction is buffered. `req` is the client's upgrade
// request; `role` goes to the backend as X-Playground-Role.
boost::asio::awaitable<void> PipeWebSocketFiltered(http::Stream& client, http::Request req, Endpoint backend,
                                                   std::string target, std::string role, PipeOptions options,
                                                   std::shared_ptr<boost::asio::steady_timer> cancel,
                                                   std::shared_ptr<const std::vector<std::string>> refused);

}  // namespace pg::hub
