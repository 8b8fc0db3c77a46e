#include "router_ws_client.h"

#include "testing/testing.h"

#include <dirent.h>

#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>

namespace pg::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

bool WsClient::Connect(const std::string& hub_url, const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& headers, int* status) {
  if (status) *status = 0;
  std::string auth = hub_url.substr(hub_url.find("//") + 2);
  std::string host = auth.substr(0, auth.rfind(':'));
  std::string port = auth.substr(auth.rfind(':') + 1);
  std::string host_header = auth;
  for (const auto& [k, v] : headers) {
    if (k == "Host") host_header = v;
  }
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) return false;
  ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(io_);
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(*ws_).connect(results, ec);
  if (ec) return false;
  ws_->set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) {
      if (k != "Host") req.set(k, v);
    }
  }));
  ws_->read_message_max(64 << 20);
  websocket::response_type res;
  ws_->handshake(res, host_header, path, ec);
  if (status) *status = static_cast<int>(res.result_int());
  if (ec) return false;
  beast::get_lowest_layer(*ws_).expires_never();
  return true;
}

bool WsClient::Send(const std::string& text) {
  boost::system::error_code ec;
  ws_->text(true);
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(10));
  ws_->write(asio::buffer(text), ec);
  if (ec) last_error_ += "send: " + ec.message() + "; ";
  return !ec;
}

std::optional<std::string> WsClient::Read(std::chrono::milliseconds timeout) {
  beast::flat_buffer buf;
  beast::get_lowest_layer(*ws_).expires_after(timeout);
  boost::system::error_code ec;
  ws_->read(buf, ec);
  if (ec) {
    last_error_ += "read: " + ec.message() + "; ";
    if (ec != beast::error::timeout) closed_ = true;
    if (ec == websocket::error::closed) close_code_ = ws_->reason().code;
    return std::nullopt;
  }
  return beast::buffers_to_string(buf.data());
}

bool WsClient::Close(int code, std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  beast::get_lowest_layer(*ws_).expires_after(timeout);
  ws_->close(websocket::close_reason(static_cast<std::uint16_t>(code)), ec);
  if (ec) last_error_ += "close: " + ec.message() + "; ";
  closed_ = true;
  return !ec;
}

int HubPid(const std::string& data_dir) {
  DIR* d = opendir("/proc");
  if (!d) return -1;
  int found = -1;
  while (dirent* e = readdir(d)) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string cmd = testing::ReadProcFile("/proc/" + std::string(e->d_name) + "/cmdline");
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i < cmd.size(); ++i) {
      if (cmd[i] == '\0') {
        args.push_back(cmd.substr(start, i - start));
        start = i + 1;
      }
    }
    bool serve = false, dir = false;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "serve") serve = true;
      if (args[i] == "--data-dir" && i + 1 < args.size() && args[i + 1] == data_dir) dir = true;
    }
    if (serve && dir) {
      found = pid;
      break;
    }
  }
  closedir(d);
  return found;
}

long RssKiB(int pid) {
  std::istringstream f(testing::ReadProcFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace pg::testing
