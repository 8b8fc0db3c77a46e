#include "hub/proxy.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

namespace pg::hub {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// Connects a raw socket to `ep` (unix or TCP address).
asio::awaitable<Result<http::Socket>> Connect(Endpoint ep, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto addr = ep.Resolve();
  if (!addr.ok()) co_return addr.error();
  http::Socket sock(ex);
  asio::steady_timer timer(ex, timeout);
  auto result = co_await (sock.async_connect(*addr, asio::as_tuple(asio::use_awaitable)) ||
                          timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (result.index() == 1) co_return Error::Make("backend_timeout", "playground did not answer in time", 504);
  auto [ec] = std::get<0>(result);
  if (ec) co_return Error::Make("backend_unavailable", "playground is not reachable: " + ec.message(), 502);
  co_return std::move(sock);
}

asio::awaitable<void> Copy(http::Socket* from, http::Socket* to, std::shared_ptr<std::chrono::steady_clock::time_point> last) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [rec, n] = co_await from->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec || n == 0) break;
    *last = std::chrono::steady_clock::now();
    auto [wec, m] = co_await asio::async_write(*to, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
    (void)m;
    if (wec) break;
  }
  boost::system::error_code ignored;
  to->shutdown(http::Socket::shutdown_send, ignored);
}

asio::awaitable<void> Watchdog(std::shared_ptr<std::chrono::steady_clock::time_point> last, std::chrono::seconds idle) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (;;) {
    auto deadline = *last + idle;
    if (std::chrono::steady_clock::now() >= deadline) co_return;
    t.expires_at(deadline);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

asio::awaitable<void> WaitCancel(std::shared_ptr<asio::steady_timer> cancel) {
  if (!cancel) {
    asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  co_await cancel->async_wait(asio::as_tuple(asio::use_awaitable));
}

// Both directions until both end (a half-close is passed on), the pipe is
// idle for too long, or it is cancelled.
asio::awaitable<void> BothWays(http::Socket* a, http::Socket* b, std::shared_ptr<std::chrono::steady_clock::time_point> last) {
  co_await (Copy(a, b, last) && Copy(b, a, last));
}

}  // namespace

asio::awaitable<Result<http::Response>> ForwardHttp(Endpoint backend, http::Request req, std::string target,
                                                   std::chrono::milliseconds timeout) {
  auto sock = co_await Connect(backend, std::min(timeout, std::chrono::milliseconds(10000)));
  if (!sock.ok()) co_return sock.error();
  http::Stream stream(std::move(*sock));
  stream.expires_after(timeout);
  req.target(target);
  req.keep_alive(false);
  req.set(bhttp::field::host, "playground");
  auto [wec, wn] = co_await bhttp::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  (void)wn;
  if (wec) co_return Error::Make("backend_unavailable", "playground connection failed: " + wec.message(), 502);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(512ull << 20);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  auto [rec, rn] = co_await bhttp::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
  (void)rn;
  if (rec == beast::error::timeout)
    co_return Error::Make("backend_timeout", "playground did not answer in time", 504);
  if (rec) co_return Error::Make("backend_unavailable", "playground connection failed: " + rec.message(), 502);
  http::Response res = parser.release();
  res.erase(bhttp::field::connection);
  res.erase(bhttp::field::keep_alive);
  res.erase(bhttp::field::transfer_encoding);
  res.prepare_payload();
  co_return res;
}

asio::awaitable<void> PipeUpgrade(http::Stream& client, http::Request req, beast::flat_buffer& client_buf,
                                  Endpoint backend, std::string target, PipeOptions options,
                                  std::shared_ptr<asio::steady_timer> cancel) {
  auto sock = co_await Connect(backend, std::chrono::milliseconds(10000));
  if (!sock.ok()) {
    http::Response res = http::ErrorResponse(req, sock.error());
    res.keep_alive(false);
    co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  http::Stream up(std::move(*sock));
  up.expires_after(std::chrono::seconds(30));
  req.target(target);
  auto [wec, wn] = co_await bhttp::async_write(up, req, asio::as_tuple(asio::use_awaitable));
  (void)wn;
  beast::flat_buffer up_buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1 << 20);
  boost::system::error_code rec;
  if (!wec) std::tie(rec, std::ignore) = co_await bhttp::async_read(up, up_buf, parser, asio::as_tuple(asio::use_awaitable));
  if (wec || rec) {
    http::Response res = http::ErrorResponse(req, Error::Make("backend_unavailable", "playground is not reachable", 502));
    res.keep_alive(false);
    co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  http::Response res = parser.release();
  bool upgraded = res.result() == bhttp::status::switching_protocols;
  client.expires_after(std::chrono::seconds(30));
  auto [cwec, cwn] = co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
  (void)cwn;
  if (cwec || !upgraded) co_return;
  client.expires_never();
  up.expires_never();

  http::Socket& a = client.socket();
  http::Socket& b = up.socket();
  // Bytes either side sent right after the handshake.
  if (client_buf.size() > 0) {
    auto [e, n] = co_await asio::async_write(b, client_buf.data(), asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (e) co_return;
    client_buf.consume(client_buf.size());
  }
  if (up_buf.size() > 0) {
    auto [e, n] = co_await asio::async_write(a, up_buf.data(), asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (e) co_return;
  }
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  co_await (BothWays(&a, &b, last) || Watchdog(last, options.idle_timeout) || WaitCancel(cancel));
  boost::system::error_code ignored;
  a.close(ignored);
  b.close(ignored);
}

}  // namespace pg::hub
