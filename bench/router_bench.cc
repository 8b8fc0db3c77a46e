// make bench (router, issue 5). One binary, three modes:
//
//   router_bench lookup
//       the route lookup time of the hub's RouteTable with 10, 1,000 and
//       100,000 playgrounds (hits and misses), in one table.
//   router_bench backend --listen EP [--listen EP ...]
//       the backend every proxy of bench/router.sh forwards to: one process,
//       one event loop (pg::http::Server, as the playground servers), on
//       each endpoint ("unix:PATH" or "HOST:PORT"). Any GET answers a
//       128-byte text; a WebSocket upgrade is echoed message by message.
//       Unix sockets are made connectable by any user (nginx runs
//       unprivileged). Prints "ready" once listening; runs until SIGTERM.
//   router_bench ws --host H --port P --path /p/ID/workspace [--header "K: V"]
//                   [--conns 8] [--seconds 3] [--size 64]
//       the WebSocket echo load generator: `conns` connections, each sending
//       a `size`-byte text message and waiting for its echo, for `seconds`
//       (after a 0.5 s warm-up). Prints "p50_ms p99_ms msgs_per_s errors".
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/endpoint.h"
#include "common/http_server.h"
#include "hub/routes.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;

int Lookup() {
  std::printf("%-28s %12s %12s\n", "route lookup", "hit ns/op", "miss ns/op");
  for (int n : {10, 1000, 100000}) {
    pg::hub::RouteTable table;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(pg::NewPlaygroundId());
      pg::orchestrator::Backends b;
      b.workspace = pg::Endpoint::Unix("/run/pg/" + ids.back() + "/workspace.sock");
      b.runner = pg::Endpoint::Unix("/run/pg/" + ids.back() + "/runner.sock");
      table.Set(ids.back(), b);
    }
    std::vector<std::string> misses;
    for (int i = 0; i < 1000; ++i) misses.push_back(pg::NewPlaygroundId());
    std::mt19937 rng(1);
    const int kOps = 1000000;
    std::vector<int> order(kOps);
    for (auto& o : order) o = static_cast<int>(rng() % ids.size());
    size_t found = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < kOps; ++i) found += table.Find(ids[order[i]]) != nullptr;
    auto t1 = Clock::now();
    for (int i = 0; i < kOps; ++i) found += table.Find(misses[i % misses.size()]) != nullptr;
    auto t2 = Clock::now();
    double hit = std::chrono::duration<double, std::nano>(t1 - t0).count() / kOps;
    double miss = std::chrono::duration<double, std::nano>(t2 - t1).count() / kOps;
    char label[64];
    std::snprintf(label, sizeof label, "%d playgrounds", n);
    std::printf("%-28s %12.1f %12.1f%s\n", label, hit, miss, found == static_cast<size_t>(kOps) ? "" : " (!)");
  }
  return 0;
}

// ---- backend ----

const std::string& Body() {
  static const std::string body = [] {
    std::string b = "hello from the bench backend\n";
    while (b.size() < 128) b += '.';
    b.back() = '\n';
    return b;
  }();
  return body;
}

asio::awaitable<void> Echo(pg::http::Request& req, pg::http::Stream& stream) {
  websocket::stream<pg::http::Stream&> ws(stream);
  ws.read_message_max(16 << 20);
  auto [aec] = co_await ws.async_accept(req, asio::as_tuple(asio::use_awaitable));
  if (aec) co_return;
  beast::flat_buffer buf;
  for (;;) {
    auto [rec, rn] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    (void)rn;
    if (rec) co_return;
    ws.text(ws.got_text());
    auto [wec, wn] = co_await ws.async_write(buf.data(), asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) co_return;
    buf.consume(buf.size());
  }
}

asio::awaitable<std::optional<pg::http::Response>> Handle(pg::http::Request& req, pg::http::Stream& stream,
                                                          beast::flat_buffer& buf) {
  (void)buf;
  if (websocket::is_upgrade(req)) {
    co_await Echo(req, stream);
    co_return std::nullopt;
  }
  co_return pg::http::MakeResponse(req, bhttp::status::ok, Body(), "text/plain");
}

int Backend(const std::vector<std::string>& listen) {
  asio::io_context io(1);
  std::vector<std::unique_ptr<pg::http::Server>> servers;
  for (const auto& spec : listen) {
    auto ep = pg::Endpoint::Parse(spec);
    if (!ep.ok()) {
      std::fprintf(stderr, "bad endpoint %s\n", spec.c_str());
      return 2;
    }
    auto server = std::make_unique<pg::http::Server>(io.get_executor(), Handle);
    auto bound = server->Listen(*ep);
    if (!bound.ok()) {
      std::fprintf(stderr, "listen %s: %s\n", spec.c_str(), bound.error().message.c_str());
      return 1;
    }
    if (ep->kind == pg::Endpoint::Kind::kUnix) ::chmod(ep->path.c_str(), 0777);
    server->Start();
    servers.push_back(std::move(server));
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::printf("ready\n");
  std::fflush(stdout);
  io.run();
  return 0;
}

// ---- WebSocket echo load ----

struct WsLoad {
  std::string host, port, path, host_header;
  std::vector<std::pair<std::string, std::string>> headers;
  int conns = 8;
  double seconds = 3;
  size_t size = 64;
  Clock::time_point measure_from, until;
  std::vector<double> rtt_ms;
  size_t errors = 0;
};

asio::awaitable<void> WsConn(WsLoad* load) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(load->host, load->port, asio::as_tuple(asio::use_awaitable));
  if (rec) {
    ++load->errors;
    co_return;
  }
  websocket::stream<beast::tcp_stream> ws(ex);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  auto [cec, cep] = co_await beast::get_lowest_layer(ws).async_connect(results, asio::as_tuple(asio::use_awaitable));
  (void)cep;
  if (cec) {
    ++load->errors;
    co_return;
  }
  beast::get_lowest_layer(ws).socket().set_option(asio::ip::tcp::no_delay(true));
  auto headers = load->headers;
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& r) {
    for (const auto& [k, v] : headers) r.set(k, v);
  }));
  auto [hec] = co_await ws.async_handshake(load->host_header, load->path, asio::as_tuple(asio::use_awaitable));
  if (hec) {
    std::fprintf(stderr, "handshake: %s\n", hec.message().c_str());
    ++load->errors;
    co_return;
  }
  beast::get_lowest_layer(ws).expires_never();
  std::string msg(load->size, 'x');
  ws.text(true);
  beast::flat_buffer buf;
  while (Clock::now() < load->until) {
    auto t0 = Clock::now();
    auto [wec, wn] = co_await ws.async_write(asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) {
      ++load->errors;
      co_return;
    }
    auto [eec, en] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    (void)en;
    if (eec || buf.size() != msg.size()) {
      ++load->errors;
      co_return;
    }
    buf.consume(buf.size());
    if (t0 >= load->measure_from) load->rtt_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  websocket::close_reason reason(websocket::close_code::normal);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(2));
  co_await ws.async_close(reason, asio::as_tuple(asio::use_awaitable));
}

int Ws(WsLoad load) {
  asio::io_context io(1);
  auto start = Clock::now();
  load.measure_from = start + std::chrono::milliseconds(500);
  load.until = load.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(load.seconds));
  for (int i = 0; i < load.conns; ++i) asio::co_spawn(io, WsConn(&load), asio::detached);
  io.run();
  auto& v = load.rtt_ms;
  if (v.empty()) {
    std::printf("nan nan 0 %zu\n", load.errors);
    return 1;
  }
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))]; };
  std::printf("%.3f %.3f %.0f %zu\n", pct(0.50), pct(0.99), static_cast<double>(v.size()) / load.seconds, load.errors);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "lookup";
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  auto value = [&](size_t& i) -> std::string {
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "%s needs a value\n", args[i].c_str());
      std::exit(2);
    }
    return args[++i];
  };
  if (mode == "lookup") return Lookup();
  if (mode == "backend") {
    std::vector<std::string> listen;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--listen") listen.push_back(value(i));
    }
    if (listen.empty()) {
      std::fprintf(stderr, "backend needs --listen\n");
      return 2;
    }
    return Backend(listen);
  }
  if (mode == "ws") {
    WsLoad load;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--host") load.host = value(i);
      else if (args[i] == "--port") load.port = value(i);
      else if (args[i] == "--path") load.path = value(i);
      else if (args[i] == "--conns") load.conns = std::stoi(value(i));
      else if (args[i] == "--seconds") load.seconds = std::stod(value(i));
      else if (args[i] == "--size") load.size = std::stoul(value(i));
      else if (args[i] == "--header") {
        std::string h = value(i);
        size_t colon = h.find(':');
        if (colon == std::string::npos) return 2;
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        load.headers.emplace_back(h.substr(0, colon), v);
      } else {
        std::fprintf(stderr, "unknown argument %s\n", args[i].c_str());
        return 2;
      }
    }
    if (load.host.empty() || load.port.empty() || load.path.empty()) {
      std::fprintf(stderr, "ws needs --host, --port and --path\n");
      return 2;
    }
    load.host_header = load.host + ":" + load.port;
    return Ws(std::move(load));
  }
  std::fprintf(stderr, "usage: router_bench [lookup | backend --listen EP... | ws --host H --port P --path P ...]\n");
  return 2;
}
