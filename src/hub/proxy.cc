#include "hub/proxy.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

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

// How long a pipe keeps reading (and dropping) what one side sends after
// the other side went away.
constexpr std::chrono::seconds kDrainAfterPeerGone{5};

// Copies `from` → `to` until `from` ends, then passes the end on (half-close).
// When writing to `to` fails (that peer closed, e.g. a WebSocket server that
// sent close 1009 and hung up), `from` is still read and its bytes dropped,
// for up to kDrainAfterPeerGone: a sender cut off in the middle of a message
// would get a reset and lose the close frame the other direction delivers.
asio::awaitable<void> Copy(http::Socket* from, http::Socket* to, std::shared_ptr<std::chrono::steady_clock::time_point> last) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [rec, n] = co_await from->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec || n == 0) break;
    *last = std::chrono::steady_clock::now();
    auto [wec, m] = co_await asio::async_write(*to, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
    (void)m;
    if (!wec) continue;
    asio::steady_timer limit(from->get_executor(), kDrainAfterPeerGone);
    for (;;) {
      auto r = co_await (from->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                         limit.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 1) break;
      auto [dec, dn] = std::get<0>(r);
      if (dec || dn == 0) break;
    }
    break;
  }
  boost::system::error_code ignored;
  to->shutdown(http::Socket::shutdown_send, ignored);
}

// Small frames must not wait for Nagle (fails harmlessly on unix sockets).
void NoDelay(http::Socket& s) {
  int one = 1;
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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

namespace {

// Idle keep-alive connections to backends, per backend address. Only used
// from the hub's io thread, but guarded anyway.
class BackendPool {
 public:
  static BackendPool& Get() {
    static BackendPool* pool = new BackendPool();
    return *pool;
  }
  std::unique_ptr<http::Stream> Take(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!it->second.empty()) {
      auto e = std::move(it->second.back());
      it->second.pop_back();
      if (now - e.second < std::chrono::seconds(20)) return std::move(e.first);
    }
    return nullptr;
  }
  void Put(const std::string& key, std::unique_ptr<http::Stream> s) {
    std::lock_guard lock(mu_);
    auto& v = idle_[key];
    if (v.size() >= 64) return;  // closes `s`
    v.emplace_back(std::move(s), std::chrono::steady_clock::now());
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::pair<std::unique_ptr<http::Stream>, std::chrono::steady_clock::time_point>>>
      idle_;
};

// One exchange on `stream`. `sent_ok` tells whether the request was fully
// written and some response bytes arrived (a reused connection that fails
// before that may be retried on a new one).
// The deadline of the whole exchange is ForwardHttp's timer (one per
// request, not one per read and write).
asio::awaitable<Result<http::Response>> Exchange(http::Stream* stream, http::Request* req, bool* retryable) {
  *retryable = false;
  auto [wec, wn] = co_await bhttp::async_write(*stream, *req, asio::as_tuple(asio::use_awaitable));
  (void)wn;
  if (wec) {
    *retryable = true;
    co_return Error::Make("backend_unavailable", "playground connection failed: " + wec.message(), 502);
  }
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(512ull << 20);
  if (req->method() == bhttp::verb::head) parser.skip(true);
  auto [rec, rn] = co_await bhttp::async_read(*stream, buf, parser, asio::as_tuple(asio::use_awaitable));
  if (rec) {
    *retryable = rn == 0 && !parser.got_some();
    co_return Error::Make("backend_unavailable", "playground connection failed: " + rec.message(), 502);
  }
  if (buf.size() != 0) *retryable = false;
  co_return parser.release();
}

// What ends a request in flight: its deadline or a revocation (the timer
// of ForwardHttp expires or is cancelled). Either closes the backend
// connection in use, which ends its pending write or read at once.
struct Revocation {
  http::Stream* in_use = nullptr;
  bool done = false;
  bool revoked = false;
  bool timed_out = false;
};

void OnTimer(const std::shared_ptr<Revocation>& r, const boost::system::error_code& ec) {
  if (r->done) return;
  (ec ? r->revoked : r->timed_out) = true;
  if (r->in_use) {
    boost::system::error_code ignored;
    r->in_use->socket().close(ignored);
  }
}

Result<http::Response> Ended(const Revocation& r) {
  if (r.revoked) return Error::Make("token_revoked", "the token of this request was revoked", 401);
  return Error::Make("backend_timeout", "playground did not answer in time", 504);
}

asio::awaitable<Result<http::Response>> ForwardOnce(Endpoint* backend, http::Request* req, std::string* target,
                                                    std::chrono::milliseconds timeout, Revocation* rev) {
  std::string key = backend->ToString();
  req->target(*target);
  req->keep_alive(true);
  req->set(bhttp::field::host, "playground");
  auto& pool = BackendPool::Get();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<http::Stream> stream = attempt == 0 ? pool.Take(key) : nullptr;
    bool reused = stream != nullptr;
    if (!stream) {
      auto sock = co_await Connect(*backend, std::min(timeout, std::chrono::milliseconds(10000)));
      if (!sock.ok()) co_return sock.error();
      stream = std::make_unique<http::Stream>(std::move(*sock));
    }
    if (rev->revoked || rev->timed_out) co_return Ended(*rev);
    bool retryable = false;
    rev->in_use = stream.get();
    auto res = co_await Exchange(stream.get(), req, &retryable);
    rev->in_use = nullptr;
    if (rev->revoked || rev->timed_out) co_return Ended(*rev);
    if (!res.ok()) {
      if (reused && retryable) continue;
      co_return res.error();
    }
    bool keep = res->keep_alive();
    res->erase(bhttp::field::connection);
    res->erase(bhttp::field::keep_alive);
    res->erase(bhttp::field::transfer_encoding);
    res->prepare_payload();
    if (keep) {
      stream->expires_never();
      pool.Put(key, std::move(stream));
    }
    co_return std::move(*res);
  }
  co_return Error::Make("backend_unavailable", "playground connection failed", 502);
}

}  // namespace

asio::awaitable<Result<http::Response>> ForwardHttp(Endpoint backend, http::Request* req, std::string target,
                                                   std::chrono::milliseconds timeout,
                                                   std::shared_ptr<asio::steady_timer> cancel) {
  // Forwarded as it is (no copy of headers and body); what forwarding
  // changes is put back for the caller's answer.
  std::string client_target(req->target());
  bool client_keep_alive = req->keep_alive();
  auto host = req->find(bhttp::field::host);
  std::string client_host = host == req->end() ? "" : std::string(host->value());
  // One timer per request: it expires at the deadline, and a revocation
  // cancels it (`cancel` is this request's own). Cheaper than timing each
  // read and write, or racing the exchange against a timer with awaitable
  // operators.
  auto rev = std::make_shared<Revocation>();
  std::shared_ptr<asio::steady_timer> timer = cancel;
  if (!timer) timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  timer->expires_after(timeout);
  auto on_timer = [rev](const boost::system::error_code& ec) { OnTimer(rev, ec); };
  timer->async_wait(on_timer);
  auto res = co_await ForwardOnce(&backend, req, &target, timeout, rev.get());
  req->target(client_target);
  req->keep_alive(client_keep_alive);
  if (client_host.empty()) {
    req->erase(bhttp::field::host);
  } else {
    req->set(bhttp::field::host, client_host);
  }
  rev->done = true;
  timer->cancel();  // ends our wait
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
  NoDelay(a);
  NoDelay(b);
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

namespace {

namespace websocket = beast::websocket;
using UpWs = websocket::stream<http::Stream>;
using DownWs = websocket::stream<http::Stream&>;

struct WsRelay {
  DownWs* down;
  UpWs* up;
  std::shared_ptr<const std::vector<std::string>> refused;
  bool writing = false;            // a write to `down` is in flight
  asio::steady_timer* write_done;  // cancelled when it ends
  asio::steady_timer* done;        // cancelled when either loop ends
  bool finished = false;
};

void Finish(WsRelay* r) {
  if (r->finished) return;
  r->finished = true;
  r->done->cancel();
  boost::system::error_code ignored;
  beast::get_lowest_layer(*r->up).socket().close(ignored);
  beast::get_lowest_layer(*r->down).socket().close(ignored);
}

// Serialises writes to the client (relayed messages and our own errors).
asio::awaitable<bool> LockDown(WsRelay* r) {
  while (r->writing && !r->finished) co_await r->write_done->async_wait(asio::as_tuple(asio::use_awaitable));
  if (r->finished) co_return false;
  r->writing = true;
  co_return true;
}
void UnlockDown(WsRelay* r) {
  r->writing = false;
  r->write_done->cancel();
}

asio::awaitable<void> UpToDown(WsRelay* r) {
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await r->up->async_read(buf, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) {
      if (ec == websocket::error::closed) {
        bool locked = co_await LockDown(r);
        if (locked) {
          websocket::close_reason reason = r->up->reason();
          co_await r->down->async_close(reason, asio::as_tuple(asio::use_awaitable));
          UnlockDown(r);
        }
      }
      break;
    }
    bool locked = co_await LockDown(r);
    if (!locked) break;
    r->down->text(r->up->got_text());
    auto [wec, wn] = co_await r->down->async_write(buf.data(), asio::as_tuple(asio::use_awaitable));
    (void)wn;
    UnlockDown(r);
    buf.consume(buf.size());
    if (wec) break;
  }
  Finish(r);
}

asio::awaitable<void> DownToUp(WsRelay* r) {
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await r->down->async_read(buf, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) {
      if (ec == websocket::error::closed) {
        websocket::close_reason reason = r->down->reason();
        co_await r->up->async_close(reason, asio::as_tuple(asio::use_awaitable));
      }
      break;
    }
    if (r->down->got_text()) {
      boost::system::error_code jec;
      auto v = boost::json::parse(std::string_view(static_cast<const char*>(buf.data().data()), buf.size()), jec);
      const boost::json::object* o = !jec && v.is_object() ? &v.as_object() : nullptr;
      const boost::json::value* type = o ? o->if_contains("type") : nullptr;
      if (type && type->is_string() &&
          std::find(r->refused->begin(), r->refused->end(), std::string_view(type->as_string())) != r->refused->end()) {
        boost::json::object err{{"type", "error"},
                                {"code", "forbidden"},
                                {"message", "read-only access: \"" + std::string(type->as_string()) + "\" is not allowed"}};
        if (auto id = o->if_contains("id")) err["id"] = *id;
        std::string text = boost::json::serialize(err);
        buf.consume(buf.size());
        bool locked = co_await LockDown(r);
        if (!locked) break;
        r->down->text(true);
        auto [wec, wn] = co_await r->down->async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
        (void)wn;
        UnlockDown(r);
        if (wec) break;
        continue;
      }
    }
    r->up->text(r->down->got_text());
    auto [wec, wn] = co_await r->up->async_write(buf.data(), asio::as_tuple(asio::use_awaitable));
    (void)wn;
    buf.consume(buf.size());
    if (wec) break;
  }
  Finish(r);
}

asio::awaitable<void> WaitDone(asio::steady_timer* done) {
  co_await done->async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> RelayWatch(WsRelay* r, std::shared_ptr<asio::steady_timer> cancel) {
  co_await (WaitCancel(cancel) || WaitDone(r->done));
  Finish(r);
}

}  // namespace

asio::awaitable<void> PipeWebSocketFiltered(http::Stream& client, http::Request req, Endpoint backend,
                                            std::string target, std::string role, PipeOptions options,
                                            std::shared_ptr<asio::steady_timer> cancel,
                                            std::shared_ptr<const std::vector<std::string>> refused) {
  auto sock = co_await Connect(backend, std::chrono::milliseconds(10000));
  if (!sock.ok()) {
    http::Response res = http::ErrorResponse(req, sock.error());
    res.keep_alive(false);
    co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  UpWs up(std::move(*sock));
  beast::get_lowest_layer(up).expires_after(std::chrono::seconds(30));
  up.set_option(websocket::stream_base::decorator([role](websocket::request_type& r) { r.set("X-Playground-Role", role); }));
  up.read_message_max(64 << 20);
  auto [hec] = co_await up.async_handshake("playground", target, asio::as_tuple(asio::use_awaitable));
  if (hec) {
    http::Response res = http::ErrorResponse(req, Error::Make("backend_unavailable", "playground is not reachable", 502));
    res.keep_alive(false);
    co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  beast::get_lowest_layer(up).expires_never();
  DownWs down(client);
  client.expires_after(std::chrono::seconds(30));
  down.read_message_max(16 << 20);
  auto [aec] = co_await down.async_accept(req, asio::as_tuple(asio::use_awaitable));
  if (aec) co_return;
  client.expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(30);
  t.idle_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.idle_timeout);
  t.keep_alive_pings = true;  // a half-open peer fails the ping and is dropped
  down.set_option(t);
  up.set_option(t);

  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer write_done(ex, asio::steady_timer::time_point::max());
  asio::steady_timer done(ex, asio::steady_timer::time_point::max());
  WsRelay relay{&down, &up, refused, false, &write_done, &done, false};
  co_await (UpToDown(&relay) && DownToUp(&relay) && RelayWatch(&relay, cancel));
}

}  // namespace pg::hub
