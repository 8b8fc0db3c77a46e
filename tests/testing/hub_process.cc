#include "testing/hub_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/testing.h"

namespace pg::testing {

std::string HubResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

std::string HubResponse::ErrorCode() const {
  if (!json.is_object()) return "";
  auto it = json.as_object().find("error");
  if (it == json.as_object().end() || !it->value().is_object()) return "";
  auto c = it->value().as_object().find("code");
  if (c == it->value().as_object().end() || !c->value().is_string()) return "";
  return std::string(c->value().as_string());
}

HubProcess::HubProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

HubProcess::~HubProcess() {
  // Playgrounds outlive their hub by design: delete what this test left, so
  // that no container, mount or loop device outlives the test.
  if (pid_ > 0) {
    for (int page = 0; page < 20; ++page) {
      auto list = Call("GET", "/api/v1/playgrounds?limit=500");
      if (list.status != 200 || !list.json.is_object()) break;
      const auto& items = list.json.at("items").as_array();
      if (items.empty()) break;
      for (const auto& it : items) Call("DELETE", "/api/v1/playgrounds/" + std::string(it.at("id").as_string()));
    }
  }
  Terminate();
}

std::string HubProcess::log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool HubProcess::Start() {
  log_path_ = data_dir_ + "/hub.log";
  std::string out_path = data_dir_ + "/hub.out";
  unlink(out_path.c_str());
  std::vector<std::string> args = {PlaygroundBinary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir_};
  for (const auto& a : extra_args_) args.push_back(a);
  pid_ = fork();
  if (pid_ == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(out_path);
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("listening on ", 0) == 0) url_ = line.substr(13);
    }
    if (!url_.empty()) break;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (url_.empty()) return false;
  std::ifstream t(data_dir_ + "/admin-token");
  std::getline(t, admin_token_);
  if (const char* e = std::getenv("PLAYGROUND_ADMIN_TOKEN"); e && *e) admin_token_ = e;
  return true;
}

void HubProcess::Terminate() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  Kill();
}

void HubProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  url_.clear();
}

HubResponse HubProcess::Call(const std::string& method, const std::string& path, const std::string& body,
                             const std::string& token, std::vector<std::pair<std::string, std::string>> headers,
                             std::chrono::seconds timeout) const {
  http::ClientRequest req;
  req.method = boost::beast::http::string_to_verb(method);
  req.url = url_ + path;
  req.body = body;
  req.timeout = timeout;
  if (token != "-") req.headers.emplace_back("Authorization", "Bearer " + (token.empty() ? admin_token_ : token));
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  for (auto& h : headers) req.headers.push_back(std::move(h));
  HubResponse out;
  auto res = http::Fetch(req);
  if (!res.ok()) {
    out.status = -1;
    out.body = res.error().message;
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  out.headers = res->headers;
  boost::system::error_code ec;
  auto v = boost::json::parse(out.body, ec);
  if (!ec) out.json = std::move(v);
  return out;
}

std::vector<pid_t> ProcessesOfPlayground(const std::string& id) {
  std::vector<pid_t> out;
  std::string needle = "PLAYGROUND_ID=" + id;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string env = ReadProcFile(std::string("/proc/") + e->d_name + "/environ");
    size_t pos = 0;
    while ((pos = env.find(needle, pos)) != std::string::npos) {
      if ((pos == 0 || env[pos - 1] == '\0') &&
          (pos + needle.size() == env.size() || env[pos + needle.size()] == '\0')) {
        // Zombies keep no environment; a readable one is alive.
        out.push_back(pid);
        break;
      }
      pos += needle.size();
    }
  }
  closedir(d);
  return out;
}

std::string OrchestratorUnavailable(const std::string& name) {
  if (name == "local") return "";
  if (name != "docker") return "unknown orchestrator " + name;
  http::ClientRequest req;
  req.url = "unix:/var/run/docker.sock:/_ping";
  req.timeout = std::chrono::seconds(3);
  auto r = http::Fetch(req);
  if (!r.ok() || r->status != 200) return "no Docker engine at /var/run/docker.sock";
  for (const char* image : {"playground-workspace:latest", "playground-runner:latest"}) {
    req.url = std::string("unix:/var/run/docker.sock:/images/") + image + "/json";
    r = http::Fetch(req);
    if (!r.ok() || r->status != 200) return std::string("image ") + image + " not built (scripts/build-images.sh)";
  }
  return "";
}

}  // namespace pg::testing
