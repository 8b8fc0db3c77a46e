// A real hub (`playground serve`) in a child process, on port 0 in a temp
// data dir, for integration tests. Talks to it with pg::http::Fetch.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/result.h"

namespace pg::testing {

struct HubResponse {
  int status = 0;
  std::string body;
  boost::json::value json;  // null unless the body is JSON
  std::string Header(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> headers;
  // json["error"]["code"], or "".
  std::string ErrorCode() const;
};

class HubProcess {
 public:
  // `data_dir` must exist. `extra_args` are appended to `serve`.
  explicit HubProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~HubProcess();  // SIGTERM, then SIGKILL

  // Starts the hub and waits until it listens. Returns false (with the
  // hub's stderr in `log()`) when it does not come up in 30 s.
  bool Start();
  void Terminate();  // SIGTERM and wait
  void Kill();       // SIGKILL and wait
  bool running() const { return pid_ > 0; }

  const std::string& url() const { return url_; }        // http://127.0.0.1:PORT
  const std::string& admin_token() const { return admin_token_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string log() const;

  // One HTTP call; `token` "" means the admin token, "-" means none.
  HubResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& token = "",
                   std::vector<std::pair<std::string, std::string>> headers = {},
                   std::chrono::seconds timeout = std::chrono::seconds(120)) const;

 private:
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  std::string url_;
  std::string admin_token_;
  std::string log_path_;
};

// Why the hub cannot run playgrounds with orchestrator `name` here ("" when
// it can): docker needs an engine at /var/run/docker.sock and the images
// scripts/build-images.sh builds.
std::string OrchestratorUnavailable(const std::string& name);

// Pids of live processes whose environment holds PLAYGROUND_ID=<id>.
std::vector<pid_t> ProcessesOfPlayground(const std::string& id);

}  // namespace pg::testing
