#include "runner_harness.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace pg::runner_test {

namespace asio = boost::asio;
namespace beast = boost::beast;

RunnerServer::RunnerServer(std::vector<std::string> extra_args) {
  root_ = dir_.path() + "/ws";
  sock_ = dir_.path() + "/r.sock";
  mkdir(root_.c_str(), 0777);
  chmod(root_.c_str(), 0777);  // the runs' unprivileged user writes here
  chmod(dir_.path().c_str(), 0755);
  std::vector<std::string> args = {testing::PlaygroundBinary(), "runner-server", "--root", root_, "--listen",
                                   "unix:" + sock_, "--log-level", "warn"};
  bool has_isolation = false;
  for (const auto& a : extra_args) has_isolation |= a == "--isolation";
  if (!has_isolation) {
    // The tests exercise the real sandbox when this host supports it and the
    // rlimit isolation otherwise (PG_RUNNER_ISOLATION forces one).
    const char* forced = std::getenv("PG_RUNNER_ISOLATION");
    args.push_back("--isolation");
    args.push_back(forced && *forced ? forced : "auto");
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 400; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    auto r = http::Fetch({beast::http::verb::get, "unix:" + sock_ + ":/healthz", {}, "", std::chrono::milliseconds(2000)});
    if (r.ok() && r->status == 200) {
      started_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

RunnerServer::~RunnerServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
}

http::ClientResponse RunnerServer::Call(beast::http::verb method, const std::string& path, const std::string& body) {
  http::ClientRequest req;
  req.method = method;
  req.url = "unix:" + sock_ + ":" + path;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.timeout = std::chrono::milliseconds(60000);
  auto r = http::Fetch(req);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : http::ClientResponse{};
}

json::object RunnerServer::RunOk(const std::string& body) {
  auto r = Call(beast::http::verb::post, "/runs", body);
  EXPECT_EQ(r.status, 200) << r.body;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

void RunnerServer::WriteFile(const std::string& rel, const std::string& content) {
  std::ofstream(root_ + "/" + rel) << content;
}

bool RunnerServer::FileExists(const std::string& rel) const { return access((root_ + "/" + rel).c_str(), F_OK) == 0; }

std::string RunnerServer::ReadFile(const std::string& rel) const {
  std::ifstream in(root_ + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

WsClient::WsClient(const std::string& socket_path) {
  asio::local::stream_protocol::socket sock(io_);
  sock.connect(asio::local::stream_protocol::endpoint(socket_path));
  struct timeval tv {
    20, 0
  };
  setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ws_ = std::make_unique<beast::websocket::stream<asio::local::stream_protocol::socket>>(std::move(sock));
  ws_->handshake("localhost", "/ws");
}

void WsClient::Send(const json::object& frame) { SendRaw(json::serialize(frame)); }

void WsClient::SendRaw(const std::string& text, bool binary) {
  ws_->binary(binary);
  ws_->write(asio::buffer(text));
}

json::object WsClient::Next(int timeout_ms) {
  struct timeval tv {
    timeout_ms / 1000, (timeout_ms % 1000) * 1000
  };
  setsockopt(ws_->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  beast::flat_buffer buf;
  boost::system::error_code ec;
  ws_->read(buf, ec);
  if (ec) {
    ADD_FAILURE() << "websocket read: " << ec.message();
    return {};
  }
  auto v = json::parse(beast::buffers_to_string(buf.data()), ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object frame";
    return {};
  }
  return v.as_object();
}

json::object WsClient::Until(const std::string& type, const std::string& run, std::vector<json::object>* skipped,
                             int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    json::object f = Next(static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (f.empty()) return f;
    if (Str(f, "type") == type && (run.empty() || Str(f, "run") == run)) return f;
    if (skipped) skipped->push_back(f);
  }
  ADD_FAILURE() << "no " << type << " frame in time";
  return {};
}

void WsClient::Close() {
  boost::system::error_code ec;
  ws_->close(beast::websocket::close_code::normal, ec);
}

std::string OutputOf(const std::vector<json::object>& frames, const std::string& run, const std::string& stream) {
  std::string out;
  int64_t expect_seq = -1;
  for (const auto& f : frames) {
    if (Str(f, "type") != "output" || Str(f, "run") != run) continue;
    int64_t seq = f.at("seq").as_int64();
    if (expect_seq >= 0) {
      EXPECT_EQ(seq, expect_seq) << "output frames out of order";
    }
    expect_seq = seq + 1;
    if (stream.empty() || Str(f, "stream") == stream) out += Str(f, "data");
  }
  return out;
}

std::vector<int> ProcessesWith(const std::string& marker) {
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::string cmd = testing::ReadProcFile(std::string("/proc/") + e->d_name + "/cmdline");
    if (cmd.find(marker) == std::string::npos) continue;
    // Zombies have an empty cmdline; a live match is a leak.
    out.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  return out;
}

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

}  // namespace pg::runner_test
