// POST /runs and the other REST routes of the real runner server.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "runner_harness.h"

namespace pg::runner_test {
namespace {

using boost::beast::http::verb;

std::string Body(const json::object& o) { return json::serialize(o); }

json::object Files(std::initializer_list<std::pair<const char*, const char*>> files) {
  json::object o;
  for (auto& [k, v] : files) o[k] = v;
  return o;
}

class RunnerRest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RunnerServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->started()) << "runner-server did not start"; }
  static RunnerServer* server_;
};
RunnerServer* RunnerRest::server_ = nullptr;

TEST_F(RunnerRest, Healthz) {
  auto r = server_->Call(verb::get, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"ok":true})"));
}

TEST_F(RunnerRest, LanguagesAreProbed) {
  auto r = server_->Call(verb::get, "/languages");
  ASSERT_EQ(r.status, 200) << r.body;
  auto langs = json::parse(r.body).at("languages").as_array();
  std::map<std::string, json::object> by_id;
  for (auto& l : langs) by_id[Str(l.as_object(), "id")] = l.as_object();
  for (const char* id : {"python", "c", "cpp", "javascript", "bash"}) {
    ASSERT_TRUE(by_id.count(id)) << id;
    EXPECT_TRUE(by_id[id].at("available").as_bool()) << id;
    EXPECT_FALSE(Str(by_id[id], "version").empty()) << id;
  }
  EXPECT_TRUE(Str(by_id["python"], "version").starts_with("3.")) << Str(by_id["python"], "version");
  EXPECT_EQ(by_id["python"].at("extensions").as_array()[0].as_string(), ".py");
  EXPECT_FALSE(by_id["python"].at("compiled").as_bool());
  EXPECT_TRUE(by_id["c"].at("compiled").as_bool());
}

TEST_F(RunnerRest, HelloWorldInEveryAvailableLanguage) {
  auto langs = json::parse(server_->Call(verb::get, "/languages").body).at("languages").as_array();
  std::map<std::string, std::pair<std::string, std::string>> programs = {
      {"python", {"hello.py", "print('Hello, World!')\n"}},
      {"c", {"hello.c", "#include <stdio.h>\nint main(void){puts(\"Hello, World!\");return 0;}\n"}},
      {"cpp", {"hello.cc", "#include <iostream>\nint main(){std::cout<<\"Hello, World!\"<<std::endl;}\n"}},
      {"javascript", {"hello.js", "console.log('Hello, World!')\n"}},
      {"bash", {"hello.sh", "echo 'Hello, World!'\n"}},
      {"go", {"hello.go", "package main\nimport \"fmt\"\nfunc main(){fmt.Println(\"Hello, World!\")}\n"}},
      {"rust", {"hello.rs", "fn main(){println!(\"Hello, World!\");}\n"}},
      {"java", {"Hello.java", "public class Hello{public static void main(String[] a){System.out.println(\"Hello, World!\");}}\n"}},
  };
  int ran = 0;
  for (auto& l : langs) {
    auto id = Str(l.as_object(), "id");
    if (!l.as_object().at("available").as_bool() || !programs.count(id)) continue;
    auto& [file, src] = programs[id];
    auto r = server_->RunOk(Body({{"files", Files({{("hello/" + file).c_str(), src.c_str()}})},
                                  {"limits", {{"wall_ms", 30000}, {"cpu_ms", 20000}}}}));
    EXPECT_EQ(Str(r, "status"), "ok") << id << ": " << json::serialize(r);
    EXPECT_EQ(Str(r, "stdout"), "Hello, World!\n") << id;
    EXPECT_EQ(Str(r, "language"), id);
    EXPECT_EQ(r.at("exit_code").as_int64(), 0);
    ++ran;
  }
  EXPECT_GE(ran, 5);
}

TEST_F(RunnerRest, StdinArgsAndStderr) {
  auto r = server_->RunOk(Body({{"language", "python"},
                                {"files", Files({{"echo.py", "import sys\nprint(sys.stdin.read().upper(), end='')\n"
                                                             "print(' '.join(sys.argv[1:]), file=sys.stderr)\n"}})},
                                {"args", {"a b", "c"}},
                                {"stdin", "hello\nworld\n"}}));
  EXPECT_EQ(Str(r, "status"), "ok");
  EXPECT_EQ(Str(r, "stdout"), "HELLO\nWORLD\n");
  EXPECT_EQ(Str(r, "stderr"), "a b c\n");
}

TEST_F(RunnerRest, LargeStdinToAProgramThatReadsNothing) {
  std::string big(1 << 20, 'x');
  auto r = server_->RunOk(Body({{"files", Files({{"noread.py", "print('done')"}})}, {"stdin", big}}));
  EXPECT_EQ(Str(r, "status"), "ok");
  EXPECT_EQ(Str(r, "stdout"), "done\n");
}

TEST_F(RunnerRest, RuntimeErrorAndSignal) {
  auto r = server_->RunOk(Body({{"files", Files({{"exit3.py", "import sys\nsys.exit(3)\n"}})}}));
  EXPECT_EQ(Str(r, "status"), "runtime_error");
  EXPECT_EQ(r.at("exit_code").as_int64(), 3);
  r = server_->RunOk(Body({{"files", Files({{"segv/segv.c", "int main(void){volatile int*p=0;return *p;}\n"}})}}));
  EXPECT_EQ(Str(r, "status"), "runtime_error") << json::serialize(r);
  EXPECT_EQ(Str(r, "signal"), "SIGSEGV");
  EXPECT_TRUE(r.at("exit_code").is_null());
}

TEST_F(RunnerRest, CompileErrorHasGccMessage) {
  auto r = server_->RunOk(Body({{"files", Files({{"bad/main.c", "int main(void) { return x; }\n"}})}}));
  EXPECT_EQ(Str(r, "status"), "compile_error");
  EXPECT_NE(Str(r, "compile_output").find("main.c:1"), std::string::npos) << Str(r, "compile_output");
  EXPECT_NE(Str(r, "compile_output").find("error"), std::string::npos);
  EXPECT_NE(Str(r, "compile_output").find("undeclared"), std::string::npos) << Str(r, "compile_output");
  EXPECT_EQ(Str(r, "stdout"), "");
}

TEST_F(RunnerRest, UnchangedProgramIsNotCompiledAgain) {
  const char* src = "#include <stdio.h>\nint main(void){puts(\"cached\");return 0;}\n";
  auto first = server_->RunOk(Body({{"files", Files({{"cache/main.c", src}})}}));
  EXPECT_EQ(Str(first, "status"), "ok");
  EXPECT_FALSE(first.at("compile_cached").as_bool());
  EXPECT_GT(first.at("compile_ms").as_int64(), 0);
  auto second = server_->RunOk(Body({{"entry", "cache/main.c"}}));
  EXPECT_EQ(Str(second, "status"), "ok");
  EXPECT_EQ(Str(second, "stdout"), "cached\n");
  EXPECT_TRUE(second.at("compile_cached").as_bool());
  EXPECT_EQ(second.at("compile_ms").as_int64(), 0);
  // A changed source is compiled again.
  auto third = server_->RunOk(
      Body({{"files", Files({{"cache/main.c", "#include <stdio.h>\nint main(void){puts(\"changed\");}\n"}})}}));
  EXPECT_FALSE(third.at("compile_cached").as_bool());
  EXPECT_EQ(Str(third, "stdout"), "changed\n");
}

TEST_F(RunnerRest, InfiniteLoopTimesOut) {
  auto r = server_->RunOk(Body({{"files", Files({{"spin.py", "while True:\n  pass\n"}})}, {"limits", {{"cpu_ms", 1000}}}}));
  EXPECT_EQ(Str(r, "status"), "timed_out");
  // RLIMIT_CPU (the kernel's own clock) may fire before the cgroup's
  // cpuacct count reaches the limit on a loaded VM (seen: 854 ms of 1000).
  EXPECT_GE(r.at("cpu_ms").as_int64(), 500);
  EXPECT_LT(r.at("wall_ms").as_int64(), 9500);  // a loaded CI box
  r = server_->RunOk(Body({{"files", Files({{"sleep.py", "import time\ntime.sleep(30)\n"}})}, {"limits", {{"wall_ms", 700}}}}));
  EXPECT_EQ(Str(r, "status"), "timed_out");
  EXPECT_GE(r.at("wall_ms").as_int64(), 650);
  EXPECT_LT(r.at("wall_ms").as_int64(), 3000);
}

TEST_F(RunnerRest, AllocationLoopExceedsMemory) {
  auto r = server_->RunOk(Body({{"files", Files({{"alloc.py", "x = []\nwhile True:\n  x.append(' ' * 1000000)\n"}})},
                                {"limits", {{"memory_kb", 65536}}}}));
  EXPECT_EQ(Str(r, "status"), "memory_exceeded") << json::serialize(r);
}

TEST_F(RunnerRest, PrintLoopIsCutAtTheOutputLimit) {
  auto r = server_->RunOk(Body({{"files", Files({{"print.py", "while True:\n  print('spam spam spam')\n"}})},
                                {"limits", {{"output_bytes", 10000}}}}));
  EXPECT_EQ(Str(r, "status"), "output_exceeded");
  EXPECT_TRUE(r.at("output_truncated").as_bool());
  EXPECT_EQ(Str(r, "stdout").size(), 10000u);
  EXPECT_TRUE(Str(r, "stdout").starts_with("spam spam spam\nspam"));
}

TEST_F(RunnerRest, ProgramWritesIntoTheWorkspace) {
  auto r = server_->RunOk(
      Body({{"files", Files({{"writer.py", "import os\nos.makedirs('out', exist_ok=True)\n"
                                           "open('out/result.txt','w').write(os.getcwd())\n"}})}}));
  EXPECT_EQ(Str(r, "status"), "ok") << json::serialize(r);
  ASSERT_TRUE(server_->FileExists("out/result.txt"));
  EXPECT_FALSE(server_->ReadFile("out/result.txt").empty());
}

TEST_F(RunnerRest, EntryAlreadyInTheWorkspace) {
  server_->WriteFile("present.js", "console.log(process.argv.slice(2).join(','))\n");
  auto r = server_->RunOk(Body({{"entry", "present.js"}, {"language", "auto"}, {"args", {"x", "y"}}}));
  EXPECT_EQ(Str(r, "stdout"), "x,y\n");
  EXPECT_EQ(Str(r, "language"), "javascript");
}

TEST_F(RunnerRest, TenConcurrentRuns) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([i, &ok] {
      std::string file = "conc" + std::to_string(i) + ".py";
      std::string src = "import time\ntime.sleep(1)\nprint(" + std::to_string(i) + ")\n";
      auto r = server_->RunOk(Body({{"files", Files({{file.c_str(), src.c_str()}})}}));
      if (Str(r, "status") == "ok" && Str(r, "stdout") == std::to_string(i) + "\n") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  // They ran at the same time, not one after the other.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST_F(RunnerRest, KillLeavesNoProcess) {
  const std::string marker = "pgkillmarker" + std::to_string(getpid());
  // Children and grandchildren carry the marker in their command lines; one
  // leaves the session.
  std::string src =
      "python3 -c 'import time; time.sleep(1000)' \"$1\" &\n"
      "( python3 -c 'import time; time.sleep(1000)' \"$1\" ) &\n"
      "setsid python3 -c 'import time; time.sleep(1000)' \"$1\" &\n"
      "wait\n";
  json::object result;
  std::thread t([&] {
    result = server_->RunOk(
        Body({{"files", Files({{"killme.sh", src.c_str()}})}, {"args", {marker}}, {"limits", {{"wall_ms", 30000}}}}));
  });
  // The run shows in GET /runs while it runs.
  std::string id;
  for (int i = 0; i < 200 && id.empty(); ++i) {
    auto runs = json::parse(server_->Call(verb::get, "/runs").body).at("runs").as_array();
    for (auto& r : runs) {
      if (Str(r.as_object(), "entry") == "killme.sh" && Str(r.as_object(), "status") == "running")
        id = Str(r.as_object(), "id");
    }
    if (id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 200 && ProcessesWith(marker).size() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // bash, its three pythons (and maybe the subshell) are visible in /proc.
  EXPECT_GE(ProcessesWith(marker).size(), 4u);
  auto k = server_->Call(verb::post, "/runs/" + id + "/kill");
  EXPECT_EQ(k.status, 200) << k.body;
  t.join();
  EXPECT_EQ(Str(result, "status"), "killed");
  EXPECT_LT(result.at("wall_ms").as_int64(), 20000);
  // bash and its pythons are all gone.
  EXPECT_TRUE(ProcessesWith(marker).empty());
  auto again = server_->Call(verb::post, "/runs/" + id + "/kill");
  EXPECT_EQ(again.status, 409);
  auto got = server_->Call(verb::get, "/runs/" + id);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Str(json::parse(got.body).as_object(), "status"), "killed");
}

TEST_F(RunnerRest, SignalARun) {
  std::string src = "import signal, sys, time\nprint('ready', flush=True)\n"
                    "try:\n  time.sleep(30)\nexcept KeyboardInterrupt:\n  print('interrupted')\n  sys.exit(0)\n";
  json::object result;
  std::thread t([&] { result = server_->RunOk(Body({{"files", Files({{"sigint.py", src.c_str()}})}})); });
  std::string id;
  for (int i = 0; i < 200 && id.empty(); ++i) {
    json::array runs = json::parse(server_->Call(verb::get, "/runs").body).at("runs").as_array();
    for (auto& r : runs) {
      if (Str(r.as_object(), "entry") == "sigint.py" && Str(r.as_object(), "status") == "running")
        id = Str(r.as_object(), "id");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(id.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // python reaches its sleep
  auto bad = server_->Call(verb::post, "/runs/" + id + "/signal", R"({"signal":"SIGNOPE"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("invalid_signal"), std::string::npos);
  auto s = server_->Call(verb::post, "/runs/" + id + "/signal", R"({"signal":"SIGINT"})");
  EXPECT_EQ(s.status, 200) << s.body;
  t.join();
  EXPECT_EQ(Str(result, "status"), "ok") << json::serialize(result);
  EXPECT_EQ(Str(result, "stdout"), "ready\ninterrupted\n");
}

TEST_F(RunnerRest, BadInputs) {
  struct Case {
    std::string method, path, body;
    int status;
    std::string code;
  };
  std::vector<Case> cases = {
      {"POST", "/runs", "{not json", 400, "malformed_json"},
      {"POST", "/runs", "[1,2]", 400, "malformed_json"},
      {"POST", "/runs", "", 400, "malformed_json"},
      {"POST", "/runs", R"({"entry":"a.py","bogus":1})", 400, "unknown_field"},
      {"POST", "/runs", R"({"entry":5})", 400, "invalid_type"},
      {"POST", "/runs", R"({"entry":"a.py","args":"x"})", 400, "invalid_type"},
      {"POST", "/runs", R"({"entry":"a.py","args":[1]})", 400, "invalid_type"},
      {"POST", "/runs", R"({"files":{"a.py":3}})", 400, "invalid_type"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"cpu":1}})", 400, "unknown_field"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"cpu_ms":"1"}})", 400, "invalid_type"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"cpu_ms":0}})", 400, "invalid_value"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"cpu_ms":999999999}})", 400, "limit_exceeded"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"memory_kb":99999999}})", 400, "limit_exceeded"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"limits":{"output_bytes":999999999}})", 400, "limit_exceeded"},
      {"POST", "/runs", R"({"files":{"a.py":"1"},"language":"cobol"})", 400, "unknown_language"},
      {"POST", "/runs", R"({"files":{"a.unknownext":"1"}})", 400, "unknown_language"},
      {"POST", "/runs", R"({"entry":"missing.py"})", 400, "entry_not_found"},
      {"POST", "/runs", R"({"entry":"."})", 400, "invalid_path"},
      {"POST", "/runs", R"({"entry":"../etc/passwd.py"})", 400, "invalid_path"},
      {"POST", "/runs", R"({"entry":"/etc/passwd.py"})", 400, "invalid_path"},
      {"POST", "/runs", R"J({"files":{"../escape.py":"print(1)"}})J", 400, "invalid_path"},
      {"POST", "/runs", R"({})", 400, "invalid_value"},
      {"POST", "/runs", R"({"files":{}})", 400, "invalid_value"},
      {"GET", "/runs/rnope", "", 404, "not_found"},
      {"POST", "/runs/rnope/kill", "", 404, "not_found"},
      {"GET", "/nope", "", 404, "not_found"},
      {"DELETE", "/runs", "", 405, "method_not_allowed"},
      {"POST", "/healthz", "", 405, "method_not_allowed"},
      {"GET", "/ws", "", 400, "websocket_required"},
  };
  for (const auto& c : cases) {
    auto m = c.method == "POST" ? verb::post : c.method == "DELETE" ? verb::delete_ : verb::get;
    auto r = server_->Call(m, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(Str(v.at("error").as_object(), "code"), c.code) << c.body << " -> " << r.body;
    EXPECT_FALSE(Str(v.at("error").as_object(), "message").empty());
  }
  EXPECT_FALSE(server_->FileExists("../escape.py"));
}

TEST_F(RunnerRest, RunsAreListedNewestFirst) {
  auto a = server_->RunOk(Body({{"files", Files({{"list1.py", "print(1)"}})}}));
  auto b = server_->RunOk(Body({{"files", Files({{"list2.py", "print(2)"}})}}));
  auto runs = json::parse(server_->Call(verb::get, "/runs").body).at("runs").as_array();
  ASSERT_GE(runs.size(), 2u);
  EXPECT_EQ(Str(runs[0].as_object(), "id"), Str(b, "id"));
  EXPECT_EQ(Str(runs[1].as_object(), "id"), Str(a, "id"));
  EXPECT_EQ(Str(runs[0].as_object(), "status"), "ok");
  EXPECT_FALSE(Str(runs[0].as_object(), "started_at").empty());
  auto one = server_->Call(verb::get, "/runs/" + Str(a, "id"));
  EXPECT_EQ(Str(json::parse(one.body).as_object(), "stdout"), "1\n");
}

TEST(RunnerLimits, RunLimitIsEnforced) {
  RunnerServer server({"--max-runs", "2"});
  ASSERT_TRUE(server.started());
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&server, i] {
      std::string f = "slow" + std::to_string(i) + ".py";
      server.RunOk(Body({{"files", Files({{f.c_str(), "import time\ntime.sleep(2)\n"}})}}));
    });
  }
  int running = 0;
  for (int i = 0; i < 200 && running < 2; ++i) {
    running = 0;
    json::array runs = json::parse(server.Call(verb::get, "/runs").body).at("runs").as_array();
    for (auto& r : runs)
      running += Str(r.as_object(), "status") == "running";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(running, 2);
  auto r = server.Call(verb::post, "/runs", Body({{"files", Files({{"third.py", "print(3)"}})}}));
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find("run_limit"), std::string::npos);
  for (auto& t : threads) t.join();
  // A refused run wrote nothing; once a slot is free it runs.
  EXPECT_FALSE(server.FileExists("third.py"));
  EXPECT_EQ(Str(server.RunOk(Body({{"files", Files({{"third.py", "print(3)"}})}})), "stdout"), "3\n");
}

TEST(RunnerLimits, OperatorMaxima) {
  RunnerServer server({"--max-cpu-ms", "2000"});
  ASSERT_TRUE(server.started());
  auto r = server.Call(verb::post, "/runs", R"({"files":{"a.py":"1"},"limits":{"cpu_ms":2001}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("limit_exceeded"), std::string::npos);
  EXPECT_EQ(Str(server.RunOk(R"J({"files":{"a.py":"print(2)"},"limits":{"cpu_ms":2000}})J"), "stdout"), "2\n");
}

TEST(RunnerLanguages, TableFromFile) {
  testing::TempDir dir;
  std::string table = dir.path() + "/langs.json";
  std::ofstream(table) << R"({"languages":[{"id":"shout","name":"Shout","extensions":[".shout"],
    "run":["bash","-c","tr a-z A-Z < \"$0\"","{entry}"],"version":["bash","--version"]}]})";
  RunnerServer server({"--languages", table});
  ASSERT_TRUE(server.started());
  auto langs = json::parse(server.Call(verb::get, "/languages").body).at("languages").as_array();
  ASSERT_EQ(langs.size(), 1u);
  EXPECT_EQ(Str(langs[0].as_object(), "id"), "shout");
  auto r = server.RunOk(R"({"files":{"x.shout":"hello\n"}})");
  EXPECT_EQ(Str(r, "stdout"), "HELLO\n");
  EXPECT_EQ(server.Call(verb::post, "/runs", R"({"files":{"x.py":"1"}})").status, 400);
}

TEST(RunnerLanguages, BadTableIsRefusedAtStartup) {
  testing::TempDir dir;
  std::string table = dir.path() + "/langs.json";
  std::ofstream(table) << R"({"languages":[{"id":"x","extensions":[".x"]}]})";  // no run
  RunnerServer server({"--languages", table});
  EXPECT_FALSE(server.started());
}

}  // namespace
}  // namespace pg::runner_test
