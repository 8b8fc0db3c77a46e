// Routing through a real hub (local orchestrator): path- and host-based
// routes reach the right playground among 50, a stopped playground is
// started by the request that needs it, WebSockets are proxied both ways
// with close codes, and a slow WebSocket reader does not grow the hub.
#include <gtest/gtest.h>

#include <boost/beast/websocket.hpp>
#include <atomic>
#include <thread>

#include "common/http_server.h"
#include "hub/proxy.h"
#include "hub_fixture.h"
#include "router_ws_client.h"

namespace pg::testing {
namespace {

namespace json = boost::json;

class RouterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    hub_ = new HubProcess(dir_->path(), {"--base-domain", "play.localhost"});
    ASSERT_TRUE(hub_->Start()) << hub_->log();
  }
  static void TearDownTestSuite() {
    delete hub_;
    delete dir_;
  }
  static std::string CreateRunning(const std::string& tmpl) {
    auto r = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":")" + tmpl + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(r.json, "id");
  }
  static std::vector<std::pair<std::string, std::string>> HostOf(const std::string& id) {
    return {{"Host", id + ".play.localhost:" + hub_->url().substr(hub_->url().rfind(':') + 1)}};
  }
  static TempDir* dir_;
  static HubProcess* hub_;
};
TempDir* RouterTest::dir_;
HubProcess* RouterTest::hub_;

TEST_F(RouterTest, BothStylesReachTheRightPlaygroundAmongFifty) {
  const int kCount = 50;
  std::vector<std::string> ids;
  for (int i = 0; i < kCount; ++i) {
    auto r = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"blank","wait":false})");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(Str(r.json, "id"));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& id : ids) {
    for (;;) {
      auto r = hub_->Call("GET", "/api/v1/playgrounds/" + id);
      if (Str(r.json, "status") == "running") break;
      ASSERT_NE(Str(r.json, "status"), "failed") << r.body;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "not running: " << r.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  for (const auto& id : ids) {
    ASSERT_EQ(hub_->Call("PUT", "/api/v1/playgrounds/" + id + "/files/whoami.txt", id).status, 204);
  }
  for (const auto& id : ids) {
    auto path = hub_->Call("GET", "/p/" + id + "/files/whoami.txt");
    EXPECT_EQ(path.status, 200);
    EXPECT_EQ(path.body, id);
    auto host = hub_->Call("GET", "/files/whoami.txt", "", "", HostOf(id));
    EXPECT_EQ(host.status, 200) << host.body;
    EXPECT_EQ(host.body, id);
  }
  // WebSockets too, both styles: the workspace lists the playground's files.
  for (int i : {0, kCount / 2, kCount - 1}) {
    for (bool by_host : {false, true}) {
      WsClient ws;
      auto headers = by_host ? HostOf(ids[i]) : std::vector<std::pair<std::string, std::string>>{};
      headers.emplace_back("Authorization", "Bearer " + hub_->admin_token());
      int status = 0;
      ASSERT_TRUE(ws.Connect(hub_->url(), by_host ? "/workspace" : "/p/" + ids[i] + "/workspace", headers, &status))
          << status;
      ASSERT_TRUE(ws.Read());  // welcome
      ASSERT_TRUE(ws.Send(R"({"type":"open","id":1,"path":"whoami.txt"})"));
      auto m = ws.Read();
      ASSERT_TRUE(m);
      auto v = json::parse(*m);
      EXPECT_EQ(Str(v, "type"), "doc") << *m;
      EXPECT_EQ(Str(v, "text"), ids[i]) << *m;
    }
  }
  // Unknown ids, both styles: 404 without starting anything.
  EXPECT_EQ(hub_->Call("GET", "/p/aaaaaaaaaaaaaaaaaaaaaaaaaa/files/whoami.txt").status, 404);
  EXPECT_EQ(hub_->Call("GET", "/files/whoami.txt", "", "", HostOf("aaaaaaaaaaaaaaaaaaaaaaaaaa")).status, 404);
  EXPECT_EQ(hub_->Call("GET", "/p/..%2f..%2fetc/files/passwd").status, 404);
  for (const auto& id : ids) EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + id).status, 204);
}

TEST_F(RouterTest, StoppedPlaygroundStartsOnFirstRequest) {
  std::string id = CreateRunning("blank");
  ASSERT_EQ(hub_->Call("PUT", "/api/v1/playgrounds/" + id + "/files/keep.txt", "kept").status, 204);
  auto stop = hub_->Call("POST", "/api/v1/playgrounds/" + id + "/stop");
  ASSERT_EQ(stop.status, 200) << stop.body;
  ASSERT_EQ(Str(stop.json, "status"), "stopped");
  auto r = hub_->Call("GET", "/p/" + id + "/files/keep.txt");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "kept");
  EXPECT_EQ(Str(hub_->Call("GET", "/api/v1/playgrounds/" + id).json, "status"), "running");
  // A WebSocket also wakes it.
  ASSERT_EQ(hub_->Call("POST", "/api/v1/playgrounds/" + id + "/stop").status, 200);
  WsClient ws;
  ASSERT_TRUE(ws.Connect(hub_->url(), "/p/" + id + "/workspace", {{"Authorization", "Bearer " + hub_->admin_token()}}));
  auto welcome = ws.Read();
  ASSERT_TRUE(welcome);
  EXPECT_NE(welcome->find("welcome"), std::string::npos);
}

TEST_F(RouterTest, SlowWebSocketReaderDoesNotGrowTheHub) {
  std::string id = CreateRunning("blank");
  // ~900 KiB file; every `read` reply carries it base64-encoded (~1.2 MB).
  std::string big(900 << 10, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(hub_->Call("PUT", "/api/v1/playgrounds/" + id + "/files/big.txt", big).status, 204);
  int pid = HubPid(dir_->path());
  ASSERT_GT(pid, 0);
  WsClient warm;
  ASSERT_TRUE(warm.Connect(hub_->url(), "/p/" + id + "/workspace", {{"Authorization", "Bearer " + hub_->admin_token()}}));
  ASSERT_TRUE(warm.Read());
  ASSERT_TRUE(warm.Send(R"({"type":"read","id":1,"path":"big.txt"})"));
  ASSERT_TRUE(warm.Read());
  long before = RssKiB(pid);
  ASSERT_GT(before, 0);

  WsClient slow;
  ASSERT_TRUE(slow.Connect(hub_->url(), "/p/" + id + "/workspace", {{"Authorization", "Bearer " + hub_->admin_token()}}));
  // Ask for ~120 MB of replies and read none of them.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(slow.Send(R"({"type":"read","id":2,"path":"big.txt"})"));
  long peak = before;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    peak = std::max(peak, RssKiB(pid));
  }
  const long kBoundKiB = 16 << 10;  // stated bound: +16 MiB
  EXPECT_LT(peak - before, kBoundKiB) << "hub RSS grew from " << before << " KiB to " << peak << " KiB";
  // The pipe is still alive: the reader drains and gets whole messages.
  auto m = slow.Read();
  ASSERT_TRUE(m);
  EXPECT_NE(m->find("welcome"), std::string::npos);
  auto f = slow.Read();
  ASSERT_TRUE(f);
  EXPECT_NE(f->find("\"file\""), std::string::npos);
}

TEST_F(RouterTest, CloseCodesPassThrough) {
  std::string id = CreateRunning("blank");
  WsClient ws;
  ASSERT_TRUE(ws.Connect(hub_->url(), "/p/" + id + "/workspace", {{"Authorization", "Bearer " + hub_->admin_token()}}));
  ASSERT_TRUE(ws.Read());
  // An oversize message: the workspace server closes with 1009 (limit
  // 16 MiB) and the hub passes the code on.
  std::string huge = R"({"type":"write","id":1,"path":"a","text":")" + std::string(17 << 20, 'a') + "\"}";
  bool sent = ws.Send(huge);
  for (int i = 0; i < 5; ++i) {
    if (!ws.Read(std::chrono::seconds(5))) break;
  }
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1009) << "sent: " << sent << ", " << ws.last_error();
}

// The hub's two WebSocket pipes in process, between the real WsClient and a
// real WebSocket server (pg::http::Server + Beast) on a unix socket: close
// codes cross in both directions. The backend closes with the code a client
// asks for ("close:<code>") and records the code of a client's close.
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace bhttp = beast::http;

struct CloseBackend {
  std::atomic<int> got_code{0};  // the close code a client sent; -1 on other errors
};

asio::awaitable<std::optional<http::Response>> CloseBackendHandle(CloseBackend* b, http::Request& req,
                                                                   http::Stream& stream) {
  websocket::stream<http::Stream&> ws(stream);
  auto [aec] = co_await ws.async_accept(req, asio::as_tuple(asio::use_awaitable));
  if (aec) co_return std::nullopt;
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) {
      b->got_code = ec == websocket::error::closed ? static_cast<int>(ws.reason().code) : -1;
      break;
    }
    std::string text = beast::buffers_to_string(buf.data());
    buf.consume(buf.size());
    if (text.rfind("close:", 0) == 0) {
      websocket::close_reason reason(static_cast<websocket::close_code>(std::stoi(text.substr(6))));
      co_await ws.async_close(reason, asio::as_tuple(asio::use_awaitable));
      break;
    }
    auto [wec, wn] = co_await ws.async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) break;
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<http::Response>> FrontHandle(Endpoint backend, bool filtered, http::Request& req,
                                                           http::Stream& stream, beast::flat_buffer& buf) {
  std::string target = "/ws";
  hub::PipeOptions options;
  std::shared_ptr<asio::steady_timer> cancel;
  if (filtered) {
    auto refused = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"write"});
    std::string role = "viewer";
    co_await hub::PipeWebSocketFiltered(stream, req, backend, target, role, options, cancel, refused);
  } else {
    co_await hub::PipeUpgrade(stream, req, buf, backend, target, options, cancel);
  }
  co_return std::nullopt;
}

class ProxyCloseTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    Endpoint backend = Endpoint::Unix(dir_.path() + "/backend.sock");
    CloseBackend* b = &backend_;
    back_ = std::make_unique<http::Server>(
        io_.get_executor(),
        [b](http::Request& req, http::Stream& stream, beast::flat_buffer&) { return CloseBackendHandle(b, req, stream); });
    ASSERT_TRUE(back_->Listen(backend).ok());
    back_->Start();
    bool filtered = GetParam();
    front_ = std::make_unique<http::Server>(
        io_.get_executor(), [backend, filtered](http::Request& req, http::Stream& stream, beast::flat_buffer& buf) {
          return FrontHandle(backend, filtered, req, stream, buf);
        });
    auto bound = front_->Listen(Endpoint::Tcp("127.0.0.1", 0));
    ASSERT_TRUE(bound.ok());
    url_ = "http://127.0.0.1:" + std::to_string(bound->port);
    front_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  // The code the backend recorded, waiting up to 5 s for it.
  int BackendGot() {
    for (int i = 0; i < 500 && backend_.got_code == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return backend_.got_code;
  }

  TempDir dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  CloseBackend backend_;
  std::unique_ptr<http::Server> back_, front_;
  std::string url_;
  std::thread thread_;
};

TEST_P(ProxyCloseTest, BackendCloseCodeReachesTheClient) {
  for (int code : {1009, 4001}) {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(url_, "/p/x/workspace", {}));
    ASSERT_TRUE(ws.Send("hello"));
    EXPECT_EQ(ws.Read(), "hello");
    ASSERT_TRUE(ws.Send("close:" + std::to_string(code)));
    EXPECT_FALSE(ws.Read());
    EXPECT_TRUE(ws.closed());
    EXPECT_EQ(ws.close_code(), code);
  }
}

TEST_P(ProxyCloseTest, ClientCloseCodeReachesTheBackend) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(url_, "/p/x/workspace", {}));
  ASSERT_TRUE(ws.Send("hello"));
  EXPECT_EQ(ws.Read(), "hello");
  EXPECT_TRUE(ws.Close(4002));
  EXPECT_EQ(BackendGot(), 4002);
}

INSTANTIATE_TEST_SUITE_P(Pipes, ProxyCloseTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Filtered" : "Raw"; });

// ForwardHttp in process against a real HTTP server (pg::http::Server) on a
// unix socket: an answer passes and leaves the caller's request as it was; a
// backend slower than the deadline gives 504; a revocation gives 401 at once.
asio::awaitable<std::optional<http::Response>> MaybeSlowHandle(http::Request& req, http::Stream&,
                                                               beast::flat_buffer&) {
  if (req.target() == "/slow") {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(3));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::string body = "answer to " + std::string(req.target());
  co_return http::MakeResponse(req, bhttp::status::ok, body, "text/plain");
}

struct ForwardOutcome {
  int status = 0;
  std::string body, code;
  std::string target_after;
  bool keep_alive_after = true;
  std::chrono::milliseconds took{0};
};

asio::awaitable<void> ForwardOne(Endpoint backend, std::string target, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds revoke_after, ForwardOutcome* out) {
  auto ex = co_await asio::this_coro::executor;
  http::Request req{bhttp::verb::get, "/p/x/files/a.txt", 11};
  req.keep_alive(false);
  std::shared_ptr<asio::steady_timer> cancel;
  if (revoke_after.count() > 0) {
    cancel = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    auto revoke = [cancel](const boost::system::error_code&) { cancel->cancel(); };
    auto at = std::make_shared<asio::steady_timer>(ex, revoke_after);
    at->async_wait([at, revoke](const boost::system::error_code& ec) { revoke(ec); });
  }
  auto t0 = std::chrono::steady_clock::now();
  auto res = co_await hub::ForwardHttp(backend, &req, target, timeout, cancel);
  out->took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  if (res.ok()) {
    out->status = res->result_int();
    out->body = res->body();
  } else {
    out->status = res.error().status;
    out->code = res.error().code;
  }
  out->target_after = std::string(req.target());
  out->keep_alive_after = req.keep_alive();
}

class ProxyForwardTest : public ::testing::Test {
 protected:
  ForwardOutcome Forward(const std::string& target, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds revoke_after = std::chrono::milliseconds(0)) {
    asio::io_context io;
    // A new path each time: ForwardHttp pools backend connections by
    // address, and a pooled one belongs to the io_context that made it.
    Endpoint backend = Endpoint::Unix(dir_.path() + "/backend" + std::to_string(++calls_) + ".sock");
    http::Server server(io.get_executor(), MaybeSlowHandle);
    EXPECT_TRUE(server.Listen(backend).ok());
    server.Start();
    ForwardOutcome out;
    auto done = [&io](std::exception_ptr) { io.stop(); };
    asio::co_spawn(io, ForwardOne(backend, target, timeout, revoke_after, &out), done);
    io.run();
    return out;
  }
  TempDir dir_;
  int calls_ = 0;
};

TEST_F(ProxyForwardTest, AnswersDeadlineAndRevocation) {
  auto ok = Forward("/files/a.txt", std::chrono::seconds(5));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "answer to /files/a.txt");
  EXPECT_EQ(ok.target_after, "/p/x/files/a.txt");  // the caller's request as it was
  EXPECT_FALSE(ok.keep_alive_after);

  auto slow = Forward("/slow", std::chrono::milliseconds(300));
  EXPECT_EQ(slow.status, 504);
  EXPECT_EQ(slow.code, "backend_timeout");
  EXPECT_LT(slow.took, std::chrono::milliseconds(2000));

  auto revoked = Forward("/slow", std::chrono::seconds(10), std::chrono::milliseconds(200));
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.code, "token_revoked");
  EXPECT_LT(revoked.took, std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace pg::testing
