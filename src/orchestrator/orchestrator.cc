#include "orchestrator/orchestrator.h"

#include <thread>

#include "common/http_client.h"

namespace pg::orchestrator {
namespace {

bool Answers(const Endpoint& ep, std::chrono::milliseconds timeout) {
  http::ClientRequest req;
  req.url = ep.kind == Endpoint::Kind::kUnix ? "unix:" + ep.path + ":/healthz" : "http://" + ep.Authority() + "/healthz";
  req.timeout = timeout;
  auto res = http::Fetch(req);
  return res.ok() && res->status == 200;
}

}  // namespace

Result<void> WaitReady(const Backends& backends, Clock::time_point deadline) {
  bool ws = false, run = false;
  auto sleep = std::chrono::microseconds(500);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto timeout = std::max(std::chrono::milliseconds(50), std::min(left, std::chrono::milliseconds(2000)));
    if (!ws) ws = Answers(backends.workspace, timeout);
    if (!run) run = Answers(backends.runner, timeout);
    if (ws && run) return Ok();
    if (Clock::now() >= deadline) {
      return Error::Make("not_ready", std::string("playground did not become ready: ") +
                                          (ws ? "" : "workspace server not answering ") +
                                          (run ? "" : "runner server not answering"),
                         503);
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(20000));
  }
}

}  // namespace pg::orchestrator
