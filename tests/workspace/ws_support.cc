#include "ws_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/beast/http/verb.hpp>

#include "common/http_client.h"
#include "testing/testing.h"

namespace pg::wstest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::pair<int, std::string> Http(const std::string& sock, const std::string& method, const std::string& target,
                                 const std::string& body) {
  http::ClientRequest req;
  req.method = boost::beast::http::string_to_verb(method);
  req.url = "unix:" + sock + ":" + target;
  req.body = body;
  auto r = http::Fetch(req);
  if (!r.ok()) return {0, r.error().message};
  return {r->status, r->body};
}

ServerProcess::ServerProcess(const std::string& root, const std::string& sock, std::vector<std::string> extra)
    : sock_(sock) {
  std::vector<std::string> args{testing::PlaygroundBinary(), "workspace-server", "--root", root, "--listen",
                                "unix:" + sock, "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  bool up = WaitUntil([&] { return Http(sock_, "GET", "/healthz").first == 200; }, std::chrono::seconds(10));
  if (!up) throw std::runtime_error("workspace server did not start");
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill(SIGTERM);
}

int ServerProcess::Kill(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

WsClient::WsClient(const std::string& sock) {
  asio::local::stream_protocol::socket s(io_);
  s.connect(asio::local::stream_protocol::endpoint(sock));
  ws_ = std::make_unique<websocket::stream<asio::local::stream_protocol::socket>>(std::move(s));
  ws_->read_message_max(64 << 20);
  ws_->handshake("localhost", "/ws");
  auto w = Expect("welcome");
  if (!w) throw std::runtime_error("no welcome");
  client_id_ = (*w)["client"].to_number<uint64_t>();
}

WsClient::~WsClient() {
  boost::system::error_code ec;
  ws_->next_layer().close(ec);
  io_.restart();
  io_.poll();
}

void WsClient::Send(const std::string& text) {
  ws_->text(true);
  boost::system::error_code ec;
  ws_->write(asio::buffer(text), ec);
}

void WsClient::SendBinary(const std::string& data) {
  ws_->binary(true);
  boost::system::error_code ec;
  ws_->write(asio::buffer(data), ec);
  ws_->text(true);
}

std::optional<std::string> WsClient::Recv(std::chrono::milliseconds timeout) {
  if (closed_) return std::nullopt;
  if (!reading_) {
    reading_ = true;
    read_done_ = false;
    ws_->async_read(buf_, [this](boost::system::error_code ec, size_t) {
      read_ec_ = ec;
      read_done_ = true;
    });
  }
  io_.restart();
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!read_done_ && std::chrono::steady_clock::now() < end) io_.run_one_until(end);
  if (!read_done_) return std::nullopt;
  reading_ = false;
  if (read_ec_) {
    closed_ = true;
    return std::nullopt;
  }
  std::string s = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  return s;
}

std::optional<json::object> WsClient::Expect(const std::string& type, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return std::nullopt;
    auto m = Recv(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
    if (!m) return std::nullopt;
    json::object o = json::parse(*m).as_object();
    if (o["type"].as_string() == type) return o;
    skipped_.push_back(std::move(o));
  }
}

int WsClient::close_code() const { return ws_->reason().code; }

void WsClient::Close() {
  boost::system::error_code ec;
  ws_->close(websocket::close_code::normal, ec);
}

}  // namespace pg::wstest
