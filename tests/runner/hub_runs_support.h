// Support for tests/runner/hub_runs_test.cc: runs through a real hub
// (`playground serve`), as a user reaches them: a blocking WebSocket client
// over TCP for /p/<id>/run and /p/<id>/workspace, and the check of whether an
// orchestrator can be tested on this machine.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "testing/hub_process.h"

namespace pg::hub_runs_test {

namespace json = boost::json;

using testing::OrchestratorUnavailable;

// A WebSocket of the hub with JSON text frames.
class HubWs {
 public:
  // Opens ws://<authority of hub_url><path> with `Authorization: Bearer
  // token`. False when the connection or the upgrade fails; `status` is then
  // the HTTP status of a refused upgrade (0 for transport errors).
  bool Connect(const std::string& hub_url, const std::string& path, const std::string& token, int* status = nullptr);
  void Send(const json::object& frame);
  // The next frame; fails the test and returns {} on timeout or close.
  json::object Next(int timeout_ms = 20000);
  // Frames until one of `type` (and of run `run` when not empty); the frames
  // before it are appended to `skipped` when not null.
  json::object Until(const std::string& type, const std::string& run = "", std::vector<json::object>* skipped = nullptr,
                     int timeout_ms = 20000);
  void Close();
  bool closed() const { return closed_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::websocket::stream<boost::beast::tcp_stream>> ws_;
  bool closed_ = false;
};

}  // namespace pg::hub_runs_test
