// GET /ws: interactive runs over the WebSocket protocol of
// docs/protocol-runner.md, against the real runner server.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runner_harness.h"

namespace pg::runner_test {
namespace {

class RunnerWs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RunnerServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->started()) << "runner-server did not start"; }
  static RunnerServer* server_;
};
RunnerServer* RunnerWs::server_ = nullptr;

std::string Start(WsClient& ws, json::object start, const std::string& client_id = "c1") {
  start["type"] = "start";
  start["id"] = client_id;
  ws.Send(start);
  auto f = ws.Next();
  EXPECT_EQ(Str(f, "type"), "started") << json::serialize(f);
  EXPECT_EQ(Str(f, "id"), client_id);
  return Str(f, "run");
}

TEST_F(RunnerWs, InteractiveInputOverTty) {
  server_->WriteFile("ask.py", "name = input('Name? ')\nprint('Hello ' + name)\n");
  WsClient ws(server_->socket_path());
  std::string run = Start(ws, {{"entry", "ask.py"}, {"tty", true}, {"cols", 80}, {"rows", 24}});
  ASSERT_FALSE(run.empty());
  std::vector<json::object> frames;
  std::string seen;
  while (seen.find("Name? ") == std::string::npos) {
    auto f = ws.Next();
    ASSERT_EQ(Str(f, "type"), "output") << json::serialize(f);
    EXPECT_EQ(Str(f, "stream"), "stdout");
    frames.push_back(f);
    seen = OutputOf(frames, run);
  }
  ws.Send({{"type", "stdin"}, {"run", run}, {"data", "Ada\r"}});
  auto exit = ws.Until("exit", run, &frames);
  std::string out = OutputOf(frames, run);
  EXPECT_NE(out.find("Ada\r\n"), std::string::npos) << out;  // the terminal echoes
  EXPECT_NE(out.find("Hello Ada\r\n"), std::string::npos) << out;
  EXPECT_EQ(Str(exit, "status"), "ok");
  EXPECT_EQ(exit.at("exit_code").as_int64(), 0);
  EXPECT_FALSE(exit.contains("stdout"));
}

TEST_F(RunnerWs, ResizeReachesTheProgram) {
  server_->WriteFile("size.py", "import os\nprint(os.get_terminal_size())\ninput()\nprint(os.get_terminal_size())\n");
  WsClient ws(server_->socket_path());
  std::string run = Start(ws, {{"entry", "size.py"}, {"tty", true}, {"cols", 91}, {"rows", 17}});
  std::vector<json::object> frames;
  while (OutputOf(frames, run).find("lines=17") == std::string::npos) frames.push_back(ws.Until("output", run));
  ws.Send({{"type", "resize"}, {"run", run}, {"cols", 120}, {"rows", 40}});
  ws.Send({{"type", "stdin"}, {"run", run}, {"data", "\r"}});
  auto exit = ws.Until("exit", run, &frames);
  std::string out = OutputOf(frames, run);
  EXPECT_NE(out.find("columns=91, lines=17"), std::string::npos) << out;
  EXPECT_NE(out.find("columns=120, lines=40"), std::string::npos) << out;
  EXPECT_EQ(Str(exit, "status"), "ok");
}

TEST_F(RunnerWs, PipesKeepStreamsApartAndStdinCloseIsEof) {
  WsClient ws(server_->socket_path());
  std::string run = Start(
      ws, {{"files", {{"cat.py", "import sys\ndata = sys.stdin.read()\nprint(len(data))\nprint('err', file=sys.stderr)\n"}}}});
  ws.Send({{"type", "stdin"}, {"run", run}, {"data", "abc"}});
  ws.Send({{"type", "stdin"}, {"run", run}, {"data", "de\n"}});
  ws.Send({{"type", "stdin_close"}, {"run", run}});
  std::vector<json::object> frames;
  auto exit = ws.Until("exit", run, &frames);
  EXPECT_EQ(OutputOf(frames, run, "stdout"), "6\n");
  EXPECT_EQ(OutputOf(frames, run, "stderr"), "err\n");
  EXPECT_EQ(Str(exit, "status"), "ok");
}

TEST_F(RunnerWs, CompileFrameThenOutputThenExit) {
  WsClient ws(server_->socket_path());
  std::string run = Start(ws, {{"files", {{"wsc/main.c", "#include <stdio.h>\nint main(void){printf(\"hi\\n\");}\n"}}}});
  auto compile = ws.Next();
  EXPECT_EQ(Str(compile, "type"), "compile") << json::serialize(compile);
  EXPECT_FALSE(compile.at("cached").as_bool());
  std::vector<json::object> frames;
  auto exit = ws.Until("exit", run, &frames);
  EXPECT_EQ(OutputOf(frames, run), "hi\n");
  EXPECT_EQ(Str(exit, "status"), "ok");
  // Compile error: the diagnostics arrive in the compile frame.
  run = Start(ws, {{"files", {{"wsbad/main.c", "int main(void){ oops }\n"}}}});
  compile = ws.Next();
  EXPECT_NE(Str(compile, "data").find("error"), std::string::npos);
  exit = ws.Until("exit", run);
  EXPECT_EQ(Str(exit, "status"), "compile_error");
}

TEST_F(RunnerWs, SeveralRunsOnOneConnection) {
  WsClient ws(server_->socket_path());
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    std::string file = "multi" + std::to_string(i) + ".py";
    std::string src = "import time\ntime.sleep(0.3)\nprint(" + std::to_string(i * 11) + ")\n";
    runs.push_back(Start(ws, {{"files", {{file, src}}}}, "m" + std::to_string(i)));
  }
  std::vector<json::object> frames;
  int exits = 0;
  while (exits < 3) {
    auto f = ws.Next();
    ASSERT_FALSE(f.empty());
    if (Str(f, "type") == "exit") {
      ++exits;
      EXPECT_EQ(Str(f, "status"), "ok");
    } else {
      frames.push_back(f);
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(OutputOf(frames, runs[i]), std::to_string(i * 11) + "\n");
}

TEST_F(RunnerWs, SignalAndKill) {
  WsClient ws(server_->socket_path());
  std::string src =
      "import time\nprint('ready', flush=True)\ntry:\n  time.sleep(30)\nexcept KeyboardInterrupt:\n  print('caught')\n";
  std::string run = Start(ws, {{"files", {{"wssig.py", src}}}});
  std::vector<json::object> frames;
  frames.push_back(ws.Until("output", run));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ws.Send({{"type", "signal"}, {"run", run}, {"signal", "SIGINT"}});
  auto exit = ws.Until("exit", run, &frames);
  EXPECT_EQ(OutputOf(frames, run), "ready\ncaught\n");
  EXPECT_EQ(Str(exit, "status"), "ok");

  run = Start(ws, {{"files", {{"wskill.py", "import time\nprint('x', flush=True)\ntime.sleep(30)\n"}}}});
  ws.Until("output", run);
  ws.Send({{"type", "kill"}, {"run", run}});
  exit = ws.Until("exit", run);
  EXPECT_EQ(Str(exit, "status"), "killed");
  EXPECT_EQ(Str(exit, "signal"), "SIGKILL");
}

TEST_F(RunnerWs, ClosingTheConnectionKillsItsRuns) {
  const std::string marker = "pgwsclose" + std::to_string(getpid());
  {
    WsClient ws(server_->socket_path());
    std::string run = Start(ws, {{"files", {{"wsclose.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n"}}},
                                 {"args", {marker}}});
    ws.Until("output", run);
    EXPECT_EQ(ProcessesWith(marker).size(), 1u);
    ws.Close();
  }
  for (int i = 0; i < 200 && !ProcessesWith(marker).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(ProcessesWith(marker).empty());
}

TEST_F(RunnerWs, BadFramesGetErrorsAndTheConnectionStays) {
  WsClient ws(server_->socket_path());
  struct Case {
    std::string frame;
    std::string code;
  };
  std::vector<Case> cases = {
      {"not json", "malformed_json"},
      {"[1]", "malformed_json"},
      {R"({"data":"x"})", "invalid_value"},
      {R"({"type":7})", "invalid_type"},
      {R"({"type":"launch"})", "unknown_type"},
      {R"({"type":"stdin","run":"rnope","data":"x"})", "unknown_run"},
      {R"({"type":"kill"})", "invalid_value"},
      {R"({"type":"stdin","run":"r1","data":"x","extra":1})", "unknown_field"},
      {R"({"type":"start","id":"s1","entry":"nope.py"})", "entry_not_found"},
      {R"({"type":"start","id":"s2","files":{"a.py":"1"},"language":"cobol"})", "unknown_language"},
      {R"({"type":"start","id":"s3","files":{"a.py":"1"},"limits":{"wall_ms":99999999}})", "limit_exceeded"},
      {R"({"type":"start","id":"s4","files":{"a.py":"1"},"stdin":"x"})", "unknown_field"},
      {R"({"type":"start","id":"s5","files":{"a.py":"1"},"tty":"yes"})", "invalid_type"},
      {R"({"type":"start","id":"s6","entry":"../../x.py"})", "invalid_path"},
  };
  for (const auto& c : cases) {
    ws.SendRaw(c.frame);
    auto f = ws.Next();
    EXPECT_EQ(Str(f, "type"), "error") << c.frame;
    EXPECT_EQ(Str(f, "code"), c.code) << c.frame << " -> " << json::serialize(f);
    if (c.frame.find("\"id\":\"s") != std::string::npos) {
      EXPECT_FALSE(Str(f, "id").empty()) << c.frame;
    }
  }
  ws.SendRaw("binary", true);
  EXPECT_EQ(Str(ws.Next(), "type"), "error");
  // A resize of a pipe run is refused.
  std::string run = Start(ws, {{"files", {{"pipe.py", "import time\ntime.sleep(0.5)\n"}}}});
  ws.Send({{"type", "resize"}, {"run", run}, {"cols", 10}, {"rows", 10}});
  auto f = ws.Next();
  EXPECT_EQ(Str(f, "code"), "not_tty");
  ws.Send({{"type", "ping"}});
  ws.Until("pong");
  EXPECT_EQ(Str(ws.Until("exit", run), "status"), "ok");
}

TEST(RunnerWsLimits, RunLimitPerServer) {
  RunnerServer server({"--max-runs", "2"});
  ASSERT_TRUE(server.started());
  WsClient ws(server.socket_path());
  std::string a = Start(ws, {{"files", {{"l1.py", "import time\ntime.sleep(1)\n"}}}}, "a");
  std::string b = Start(ws, {{"files", {{"l2.py", "import time\ntime.sleep(1)\n"}}}}, "b");
  ws.Send({{"type", "start"}, {"id", "c"}, {"files", {{"l3.py", "1"}}}});
  auto f = ws.Next();
  EXPECT_EQ(Str(f, "type"), "error");
  EXPECT_EQ(Str(f, "code"), "run_limit");
  EXPECT_EQ(Str(f, "id"), "c");
  ws.Until("exit", a);
  ws.Until("exit", b);
}

}  // namespace
}  // namespace pg::runner_test
