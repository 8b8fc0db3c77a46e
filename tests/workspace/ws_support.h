// Test support for the workspace server: the real server as a child process,
// a blocking Beast WebSocket client, and a raw-socket client for framing tests.
#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pg::wstest {

// `playground workspace-server --root ROOT --listen unix:SOCK ARGS...`, ready
// (GET /healthz answered) when the constructor returns. SIGTERM and reaped on
// destruction unless already killed.
class ServerProcess {
 public:
  ServerProcess(const std::string& root, const std::string& sock, std::vector<std::string> extra_args = {});
  ~ServerProcess();
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits for the exit; returns the wait status.
  int Kill(int sig);
  const std::string& sock() const { return sock_; }

 private:
  pid_t pid_ = -1;
  std::string sock_;
};

// GET/PUT/DELETE over the unix socket: returns {status, body}.
std::pair<int, std::string> Http(const std::string& sock, const std::string& method, const std::string& target,
                                 const std::string& body = "");

// A blocking WebSocket client with timeouts (own io_context).
class WsClient {
 public:
  explicit WsClient(const std::string& sock);
  ~WsClient();
  void Send(const std::string& text);
  void SendBinary(const std::string& data);
  void Send(const boost::json::object& o) { Send(boost::json::serialize(o)); }
  // The next message, or nullopt on timeout or close (then closed() is true).
  std::optional<std::string> Recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // The next message (parsed) whose "type" is `type`, skipping others
  // (skipped ones are kept in skipped()).
  std::optional<boost::json::object> Expect(const std::string& type,
                                            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  bool closed() const { return closed_; }
  int close_code() const;  // after closed(): the code the server sent (0 if none)
  void Close();
  std::vector<boost::json::object>& skipped() { return skipped_; }
  boost::beast::websocket::stream<boost::asio::local::stream_protocol::socket>& ws() { return *ws_; }
  uint64_t client_id() const { return client_id_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::websocket::stream<boost::asio::local::stream_protocol::socket>> ws_;
  boost::beast::flat_buffer buf_;
  bool reading_ = false, read_done_ = false, closed_ = false;
  boost::system::error_code read_ec_;
  std::vector<boost::json::object> skipped_;
  uint64_t client_id_ = 0;
};

// Waits until `pred` holds, polling, up to `timeout`.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

}  // namespace pg::wstest
