// A small blocking WebSocket client (Beast) for the router and access
// tests, plus helpers to inspect the hub process.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pg::testing {

class WsClient {
 public:
  // Opens ws://<authority><path> (authority of `hub_url`) with extra headers.
  // Returns false when the TCP connection or the upgrade fails; `status` is
  // the HTTP status of a refused upgrade (0 for transport errors).
  bool Connect(const std::string& hub_url, const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& headers, int* status = nullptr);
  bool Send(const std::string& text);
  // The next message, or nullopt on close/timeout/error (see closed()).
  std::optional<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Starts the closing handshake with `code` and waits for the peer's close
  // frame. False on error or timeout.
  bool Close(int code, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the connection is closed (after Read returned nullopt).
  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }
  // The error of the last failed Send, Read or Close ("" when none failed).
  const std::string& last_error() const { return last_error_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::websocket::stream<boost::beast::tcp_stream>> ws_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string last_error_;
};

// Pid of the `playground serve` process on `data_dir`, or -1.
int HubPid(const std::string& data_dir);
// VmRSS of `pid` in KiB, or -1.
long RssKiB(int pid);

}  // namespace pg::testing
