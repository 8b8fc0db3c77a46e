// Test support for the runner server: the real `playground runner-server`
// binary on a unix socket in a temp dir, REST calls and a WebSocket client.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "testing/testing.h"

namespace pg::runner_test {

namespace json = boost::json;

// A runner server process with its workspace at root(). Started in the
// constructor (waits until /healthz answers), SIGTERMed in the destructor.
class RunnerServer {
 public:
  explicit RunnerServer(std::vector<std::string> extra_args = {});
  ~RunnerServer();
  RunnerServer(const RunnerServer&) = delete;
  RunnerServer& operator=(const RunnerServer&) = delete;

  bool started() const { return started_; }
  const std::string& root() const { return root_; }
  const std::string& socket_path() const { return sock_; }
  pid_t pid() const { return pid_; }

  // REST over the unix socket. `body` empty: no body.
  http::ClientResponse Call(boost::beast::http::verb method, const std::string& path, const std::string& body = "");
  // POST /runs with `body`, expecting 200; returns the result object.
  json::object RunOk(const std::string& body);

  // Writes a file into the workspace.
  void WriteFile(const std::string& rel, const std::string& content);
  bool FileExists(const std::string& rel) const;
  std::string ReadFile(const std::string& rel) const;

 private:
  testing::TempDir dir_;
  std::string root_, sock_;
  pid_t pid_ = -1;
  bool started_ = false;
};

// A WebSocket client of GET /ws (blocking, with a receive timeout).
class WsClient {
 public:
  explicit WsClient(const std::string& socket_path);
  void Send(const json::object& frame);
  void SendRaw(const std::string& text, bool binary = false);
  // Next frame; fails the test (and returns {}) after `timeout_ms`.
  json::object Next(int timeout_ms = 20000);
  // Frames until one with type `type` (and run `run` when given); the
  // skipped frames are appended to `skipped` when non-null.
  json::object Until(const std::string& type, const std::string& run = "", std::vector<json::object>* skipped = nullptr,
                     int timeout_ms = 20000);
  void Close();

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::websocket::stream<boost::asio::local::stream_protocol::socket>> ws_;
};

// The concatenated "data" of the output frames of `run` (of `stream` when
// not empty) among `frames`.
std::string OutputOf(const std::vector<json::object>& frames, const std::string& run, const std::string& stream = "");

// Pids of live processes whose command line contains `marker`.
std::vector<int> ProcessesWith(const std::string& marker);

std::string Str(const json::object& o, const char* key);

}  // namespace pg::runner_test
