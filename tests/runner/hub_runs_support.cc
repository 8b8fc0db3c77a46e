#include "hub_runs_support.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/http_client.h"

namespace pg::hub_runs_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

bool HubWs::Connect(const std::string& hub_url, const std::string& path, const std::string& token, int* status) {
  if (status) *status = 0;
  std::string authority = hub_url.substr(hub_url.find("//") + 2);
  std::string host = authority.substr(0, authority.rfind(':'));
  std::string port = authority.substr(authority.rfind(':') + 1);
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return false;
  ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(io_);
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(60));
  beast::get_lowest_layer(*ws_).connect(endpoints, ec);
  if (ec) return false;
  std::string bearer = "Bearer " + token;
  ws_->set_option(websocket::stream_base::decorator(
      [bearer](websocket::request_type& req) { req.set(beast::http::field::authorization, bearer); }));
  ws_->read_message_max(64 << 20);
  websocket::response_type res;
  ws_->async_handshake(res, authority, path, [&ec](boost::system::error_code e) { ec = e; });
  io_.restart();
  io_.run();
  if (status) *status = static_cast<int>(res.result_int());
  if (ec) return false;
  beast::get_lowest_layer(*ws_).expires_never();
  return true;
}

void HubWs::Send(const json::object& frame) {
  if (!ws_ || closed_) {
    ADD_FAILURE() << "send on a closed websocket";
    return;
  }
  std::string text = json::serialize(frame);
  ws_->text(true);
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(10));
  boost::system::error_code ec;
  ws_->async_write(asio::buffer(text), [&ec](boost::system::error_code e, size_t) { ec = e; });
  io_.restart();
  io_.run();
  if (ec) {
    closed_ = true;
    ADD_FAILURE() << "websocket write: " << ec.message();
  }
}

json::object HubWs::Next(int timeout_ms) {
  if (!ws_ || closed_) {
    ADD_FAILURE() << "read on a closed websocket";
    return {};
  }
  // Beast's stream timeouts apply to asynchronous operations only.
  beast::flat_buffer buf;
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::milliseconds(timeout_ms));
  boost::system::error_code ec;
  ws_->async_read(buf, [&ec](boost::system::error_code e, size_t) { ec = e; });
  io_.restart();
  io_.run();
  if (ec) {
    // A timed-out tcp_stream is closed too: this connection is done either way.
    closed_ = true;
    ADD_FAILURE() << "websocket read: " << ec.message();
    return {};
  }
  auto v = json::parse(beast::buffers_to_string(buf.data()), ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object frame: " << beast::buffers_to_string(buf.data());
    return {};
  }
  return v.as_object();
}

json::object HubWs::Until(const std::string& type, const std::string& run, std::vector<json::object>* skipped,
                          int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    json::object f = Next(static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (f.empty()) return f;
    auto t = f.find("type");
    auto r = f.find("run");
    bool type_ok = t != f.end() && t->value().is_string() && t->value().as_string() == type;
    bool run_ok = run.empty() || (r != f.end() && r->value().is_string() && r->value().as_string() == run);
    if (type_ok && run_ok) return f;
    if (skipped) skipped->push_back(f);
  }
  ADD_FAILURE() << "no " << type << " frame in " << timeout_ms << " ms";
  return {};
}

void HubWs::Close() {
  if (!ws_ || closed_) return;
  boost::system::error_code ec;
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(5));
  ws_->async_close(websocket::close_code::normal, [&ec](boost::system::error_code e) { ec = e; });
  io_.restart();
  io_.run();
  closed_ = true;
}

}  // namespace pg::hub_runs_test
