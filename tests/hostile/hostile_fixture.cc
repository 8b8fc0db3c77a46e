#include "hostile_fixture.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common/http_client.h"

namespace pg::testing::hostile {

namespace json = boost::json;

const char kPythonPrelude[] = R"PY(
import ctypes, errno, json, os, signal, socket, subprocess, sys, time
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    ctypes.set_errno(0)
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    r = _libc.syscall(ctypes.c_long(nr), *conv)
    return [r, ctypes.get_errno() if r == -1 else 0]
def ename(e):
    return errno.errorcode.get(e, str(e))
def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        if isinstance(e, socket.gaierror) or not e.errno:
            return type(e).__name__ + ":" + str(e)
        return ename(e.errno)
    except Exception as e:
        return type(e).__name__ + ":" + str(e)
def report(**kv):
    sys.stdout.flush()
    print(json.dumps(kv), flush=True)
)PY";

namespace {

std::map<std::string, std::unique_ptr<HubEnv>>& Envs() {
  static std::map<std::string, std::unique_ptr<HubEnv>> envs;
  return envs;
}

std::string JStr(const json::value& v, const char* key) {
  if (!v.is_object()) return "";
  auto it = v.as_object().find(key);
  if (it == v.as_object().end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

int64_t JInt(const json::value& v, const char* key, int64_t fallback) {
  if (!v.is_object()) return fallback;
  auto it = v.as_object().find(key);
  if (it == v.as_object().end() || !it->value().is_number()) return fallback;
  boost::system::error_code ec;
  auto n = it->value().to_number<int64_t>(ec);
  return ec ? fallback : n;
}

// The hub is our child: the child process whose command line names its data dir.
pid_t FindHubPid(const std::string& data_dir) {
  const pid_t self = getpid();
  DIR* d = opendir("/proc");
  if (!d) return -1;
  pid_t found = -1;
  while (struct dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string line = ReadProcFile(std::string("/proc/") + e->d_name + "/stat");
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream in(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    in >> state >> ppid;
    if (ppid != self) continue;
    std::string cmd = ReadProcFile(std::string("/proc/") + e->d_name + "/cmdline");
    if (cmd.find(std::string("serve") + '\0') != std::string::npos && cmd.find(data_dir) != std::string::npos) {
      found = pid;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

int64_t RunResult::Int(const char* key, int64_t fallback) const { return JInt(report, key, fallback); }
std::string RunResult::Str(const char* key) const { return JStr(report, key); }
bool RunResult::Bool(const char* key) const {
  if (!report.is_object()) return false;
  auto it = report.as_object().find(key);
  return it != report.as_object().end() && it->value().is_bool() && it->value().as_bool();
}

std::string Describe(const RunResult& r) {
  std::ostringstream o;
  o << "http " << r.http_status << " status=" << r.status << " exit="
    << (r.exit_code ? std::to_string(*r.exit_code) : "null") << " signal=" << r.signal << " cpu_ms=" << r.cpu_ms
    << " wall_ms=" << r.wall_ms << " peak_kb=" << r.peak_memory_kb << " truncated=" << r.output_truncated;
  auto cut = [](const std::string& s) { return s.size() > 2000 ? s.substr(0, 1000) + "\n...\n" + s.substr(s.size() - 1000) : s; };
  o << "\nstdout: " << cut(r.out) << "\nstderr: " << cut(r.err);
  if (r.http_status != 200) o << "\nbody: " << cut(r.body);
  return o.str();
}

void HostileTest::TearDownTestSuite() {
  // Each hub's destructor deletes its playgrounds (containers, volumes,
  // cgroups) before the data dir goes.
  Envs().clear();
}

void HostileTest::SetUp() {
  std::string why = OrchestratorUnavailable(orchestrator());
  if (!why.empty()) GTEST_SKIP() << why;
  auto& slot = Envs()[orchestrator()];
  if (!slot) {
    auto env = std::make_unique<HubEnv>();
    env->dir = std::make_unique<TempDir>();
    // No rate limits: the suite starts runs back to back on purpose.
    env->hub = std::make_unique<HubProcess>(
        env->dir->path(), std::vector<std::string>{"--orchestrator", orchestrator(), "--rate-limit-runs", "0",
                                                    "--rate-limit-api", "0"});
    ASSERT_TRUE(env->hub->Start()) << env->hub->log();
    env->hub_pid = FindHubPid(env->dir->path());
    ASSERT_GT(env->hub_pid, 0);
    auto r = env->hub->Call("POST", "/api/v1/playgrounds", R"({"template":"python"})");
    ASSERT_EQ(r.status, 201) << r.body << "\n" << env->hub->log();
    ASSERT_EQ(JStr(r.json, "status"), "running") << r.body;
    env->playground = JStr(r.json, "id");
    slot = std::move(env);
    env_ = slot.get();
    // Can this orchestrator run anything at all?
    auto probe = Python("report(hello=1)\n", "{}");
    if (probe.http_status != 200 || probe.status != "ok") {
      std::string msg = "runs do not work in a " + orchestrator() + " playground: " + Describe(probe);
      if (orchestrator() == "docker") {
        env_->known_bug = "known bug (issue 7): " + msg;
      } else {
        FAIL() << msg;
      }
    }
  }
  env_ = slot.get();
  if (!env_->known_bug.empty()) GTEST_SKIP() << env_->known_bug;
}

void HostileTest::TearDown() {
  if (!env_) return;
  for (const auto& id : extra_) hub().Call("DELETE", "/api/v1/playgrounds/" + id);
  extra_.clear();
  if (HasFailure()) {
    std::string log = hub().log();
    if (log.size() > 3000) log = log.substr(log.size() - 3000);
    std::fprintf(stderr, "--- hub log (tail) ---\n%s\n", log.c_str());
  }
}

int HostileTest::hub_port() const {
  const std::string& url = env_->hub->url();
  return std::atoi(url.substr(url.rfind(':') + 1).c_str());
}

std::string HostileTest::CreatePlayground(const std::string& limits) {
  std::string body = R"({"template":"python")";
  if (!limits.empty()) body += R"(,"limits":)" + limits;
  body += "}";
  auto r = hub().Call("POST", "/api/v1/playgrounds", body);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(JStr(r.json, "status"), "running") << r.body;
  std::string id = JStr(r.json, "id");
  if (!id.empty()) extra_.push_back(id);
  return id;
}

std::string HostileTest::FileStem() const {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? info->name() : "probe";
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return "hostile_" + name;
}

RunResult HostileTest::Run(const std::string& language, const std::map<std::string, std::string>& files,
                           const std::string& entry, const std::string& limits, const std::string& playground_id) {
  json::object body;
  body["language"] = language;
  json::object f;
  for (const auto& [k, v] : files) f[k] = v;
  body["files"] = std::move(f);
  body["entry"] = entry;
  body["limits"] = json::parse(limits.empty() ? "{}" : limits);
  const std::string& id = playground_id.empty() ? env_->playground : playground_id;
  auto r = hub().Call("POST", "/api/v1/playgrounds/" + id + "/runs", json::serialize(body));
  RunResult out;
  out.http_status = r.status;
  out.body = r.body;
  if (r.status != 200 || !r.json.is_object()) return out;
  const auto& o = r.json;
  out.status = JStr(o, "status");
  if (auto it = o.as_object().find("exit_code"); it != o.as_object().end() && it->value().is_number())
    out.exit_code = JInt(o, "exit_code", 0);
  out.signal = JStr(o, "signal");
  out.out = JStr(o, "stdout");
  out.err = JStr(o, "stderr");
  out.cpu_ms = JInt(o, "cpu_ms", 0);
  out.wall_ms = JInt(o, "wall_ms", 0);
  out.peak_memory_kb = JInt(o, "peak_memory_kb", 0);
  if (auto it = o.as_object().find("output_truncated"); it != o.as_object().end() && it->value().is_bool())
    out.output_truncated = it->value().as_bool();
  std::istringstream lines(out.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object()) out.report = std::move(v);
  }
  return out;
}

RunResult HostileTest::Python(const std::string& code, const std::string& limits, const std::string& playground_id) {
  std::string file = FileStem() + ".py";
  return Run("python", {{file, std::string(kPythonPrelude) + code}}, file, limits, playground_id);
}

RunResult HostileTest::C(const std::string& code, const std::string& limits, const std::string& playground_id) {
  std::string file = FileStem() + "/main.c";
  return Run("c", {{file, code}}, file, limits, playground_id);
}

HubResponse HostileTest::CallWithin(const std::string& method, const std::string& path, const std::string& body,
                                    int timeout_s) {
  return hub().Call(method, path, body, "", {}, std::chrono::seconds(timeout_s));
}

std::string HostileTest::FileOf(const std::string& id, const std::string& path, int* status) {
  auto r = hub().Call("GET", "/api/v1/playgrounds/" + id + "/files/" + path);
  if (status) *status = r.status;
  return r.body;
}

int64_t HostileTest::HubLatencyMs() {
  int64_t worst = 0;
  for (const char* path : {"/healthz", "/api/v1/playgrounds"}) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = hub().Call("GET", path);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (r.status != 200) return -1;
    worst = std::max<int64_t>(worst, ms);
  }
  return worst;
}

}  // namespace pg::testing::hostile
