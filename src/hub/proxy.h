// Forwarding requests from the hub to a playground's servers.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <string>

#include "common/endpoint.h"
#include "common/http_server.h"

namespace pg::hub {

// Sends `req` (its target rewritten to `target`) to `backend` and returns
// the backend's response. Transport failures become 502/504 errors.
boost::asio::awaitable<Result<http::Response>> ForwardHttp(Endpoint backend, http::Request req, std::string target,
                                                          std::chrono::milliseconds timeout);

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

}  // namespace pg::hub
