// The hub's HTTP surface: the REST API (docs/api.md), the router for
// /p/<id>/... and <id>.<base-domain>, login links, and the web IDE's files.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/http_server.h"
#include "hub/access.h"
#include "hub/auth.h"
#include "hub/lifecycle.h"
#include "hub/routes.h"
#include "registry/registry.h"

namespace pg::hub {

struct ApiConfig {
  std::string base_domain;  // "" disables host-based routing
  std::string web_dir;      // built IDE; may not exist
  std::chrono::milliseconds ready_timeout{30000};
  std::chrono::milliseconds run_timeout{300000};
  // Token buckets per client address and per token: the control plane
  // (/api/..., /login) and run starts (POST .../runs, /p/<id>/run).
  RateSpec api_rate{50, 200};
  RateSpec run_rate{5, 20};
};

class Api {
 public:
  // Pointers must outlive the Api. `io` runs the handlers; `pool` runs
  // blocking work (orchestrator calls, fsyncs).
  Api(boost::asio::any_io_executor io, boost::asio::thread_pool* pool, registry::Registry* reg, Lifecycle* life,
      RouteTable* routes, Authenticator* auth, ApiConfig config);

  // The http::Handler of the hub's server.
  boost::asio::awaitable<std::optional<http::Response>> Handle(http::Request& req, http::Stream& stream,
                                                               boost::beast::flat_buffer& buf);

 private:
  struct Ctx;
  boost::asio::awaitable<std::optional<http::Response>> Route(Ctx& ctx);
  boost::asio::awaitable<http::Response> ListPlaygrounds(Ctx& ctx);
  boost::asio::awaitable<http::Response> CreatePlayground(Ctx& ctx);
  boost::asio::awaitable<http::Response> PlaygroundCall(Ctx& ctx, std::string id, std::string rest);
  boost::asio::awaitable<std::optional<http::Response>> PlaygroundProxy(Ctx& ctx, std::string id, std::string kind,
                                                                        std::string rest);
  boost::asio::awaitable<Result<orchestrator::Backends>> EnsureRunning(std::string id);
  http::Response Login(Ctx& ctx);
  http::Response TokenList(const http::Request& req, const std::string& playground_id,
                           const std::string& user_id);
  http::Response Users(Ctx& ctx, const std::string& rest);
  http::Response Tokens(Ctx& ctx, const Caller& caller, const registry::Playground& p, Role role,
                        const std::string& rest);
  // 429 when `limiter` refuses the client address or the token.
  std::optional<http::Response> Limit(Ctx& ctx, RateLimiter& ip, RateLimiter& tok);
  http::Response Static(Ctx& ctx, const std::string& path);
  http::Response PlaygroundJson(const http::Request& req, const registry::Playground& p, Role role,
                                const std::string& token, http::bhttp::status status);
  // Loads the row and checks the caller may see it; 404 otherwise (the same
  // answer for "missing" and "not yours").
  Result<std::pair<registry::Playground, Role>> Visible(const Caller& caller, const std::string& id);
  void TouchLater(const std::string& id);

  boost::asio::any_io_executor io_;
  boost::asio::thread_pool* pool_;
  registry::Registry* reg_;
  Lifecycle* life_;
  RouteTable* routes_;
  Authenticator* auth_;
  ApiConfig config_;
  std::mutex touch_mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> touched_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> static_cache_;  // path → (type, body)
  Connections conns_;
  RateLimiter api_ip_, api_token_, run_ip_, run_token_;
};

// Runs `fn` on `pool` and resumes the calling coroutine on its own executor
// with the result: `co_await OffLoop(pool, [..] { return Blocking(); })`.
// `fn` may block. OffLoop itself is not a coroutine and the coroutine below
// takes only shared_ptrs: g++ 12 destroys closure objects passed by value
// into coroutines twice.
struct OffLoopInit {
  boost::asio::thread_pool* pool;
  std::function<void()>* job;  // owned by the awaiting coroutine's state
  template <class Handler>
  void operator()(Handler&& handler) const {
    auto ex = boost::asio::get_associated_executor(handler);
    auto* j = job;
    boost::asio::post(*pool, [h = std::move(handler), j, ex]() mutable {
      (*j)();
      boost::asio::post(ex, std::move(h));
    });
  }
};

template <class T>
struct OffLoopState {
  std::function<void()> job;
  std::optional<T> out;
};

// Takes ownership of `state`. Only trivially destructible parameters: g++ 12
// destroys non-trivial by-value coroutine parameters twice here (seen with
// ASan on a shared_ptr parameter).
template <class T>
boost::asio::awaitable<T> OffLoopAwait(boost::asio::thread_pool* pool, OffLoopState<T>* state) {
  std::unique_ptr<OffLoopState<T>> owned(state);
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(OffLoopInit{pool, &owned->job},
                                                                                      boost::asio::use_awaitable);
  co_return std::move(*owned->out);
}

template <class F>
auto OffLoop(boost::asio::thread_pool* pool, F fn) {
  using T = decltype(fn());
  auto* state = new OffLoopState<T>();
  state->job = [state, fn]() mutable { state->out.emplace(fn()); };
  return OffLoopAwait<T>(pool, state);
}

}  // namespace pg::hub
