// Runner server round trips: POST /runs (request -> result) of Python hello
// world and of a precompiled C hello world through a real runner server on a
// unix socket, beside the same program run bare (fork/exec) and with
// `docker run --rm` (when dockerd and playground-runner:latest exist), and
// the sustained runs/second of one server with 8 concurrent clients. Rows
// are measured interleaved, round by round.
// Through the hub when PG_HUB_URL, PG_HUB_TOKEN and PG_HUB_PLAYGROUND are set.
// Usage: runner_bench [ROUNDS]   (env PG_BINARY, PG_RUNNER_ISOLATION)
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include "bench_util.h"
#include "common/http_client.h"
#include "testing/testing.h"

namespace {

using namespace pg;
using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string Env(const char* k, const char* d = "") {
  const char* v = std::getenv(k);
  return v && *v ? v : d;
}

double Post(const std::string& url, const std::string& body, const std::string& token = "") {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.url = url;
  req.body = body;
  req.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  auto t0 = Clock::now();
  auto r = http::Fetch(req);
  double ms = Ms(t0);
  if (!r.ok() || r->status != 200 || r->body.find("\"status\":\"ok\"") == std::string::npos) {
    std::fprintf(stderr, "run failed: %s\n", r.ok() ? r->body.substr(0, 300).c_str() : r.error().message.c_str());
    return -1;
  }
  return ms;
}

std::vector<std::string> Row(const std::string& what, const std::vector<double>& ms) {
  if (ms.empty()) return {what, "-", "-", "0"};
  auto s = bench::Summarize(ms);
  return {what, bench::Fmt(s.p50), bench::Fmt(s.p99), std::to_string(s.n)};
}

double Throughput(const std::string& url, const std::string& body, int clients, double seconds) {
  std::atomic<int> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      while (!stop) {
        if (Post(url, body) >= 0) ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return done / (Ms(t0) / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 30;
  testing::TempDir dir;
  std::string root = dir.path() + "/ws", sock = dir.path() + "/r.sock";
  mkdir(root.c_str(), 0777);
  chmod(root.c_str(), 0777);
  chmod(dir.path().c_str(), 0755);
  std::ofstream(root + "/hello.py") << "print('Hello, World!')\n";
  std::ofstream(root + "/hello.c") << "#include <stdio.h>\nint main(void){puts(\"Hello, World!\");return 0;}\n";
  std::string isolation = Env("PG_RUNNER_ISOLATION", "auto");
  pid_t server = fork();
  if (server == 0) {
    std::string bin = testing::PlaygroundBinary();
    execl(bin.c_str(), bin.c_str(), "runner-server", "--root", root.c_str(), "--listen", ("unix:" + sock).c_str(),
          "--isolation", isolation.c_str(), "--log-level", "warn", "--max-runs", "64", nullptr);
    _exit(127);
  }
  bool up = false;
  for (int i = 0; i < 400 && !up; ++i) {
    auto r = http::Fetch({boost::beast::http::verb::get, "unix:" + sock + ":/healthz", {}, "", std::chrono::seconds(2)});
    up = r.ok() && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (!up) {
    std::fprintf(stderr, "runner-server did not start\n");
    return 1;
  }
  const std::string runs = "unix:" + sock + ":/runs";
  const std::string py = R"({"entry":"hello.py"})", c = R"({"entry":"hello.c"})";

  // Bare: the same programs, fork/exec from here.
  std::string exe = dir.path() + "/hello-bare";
  bench::TimeCommand({"gcc", "-O2", "-o", exe, root + "/hello.c"});

  // Every row is measured round by round, interleaved, so that all see the
  // same machine load (docker rows: fewer rounds).
  struct Peer {
    std::string what;
    std::function<double()> run;
    int max_rounds;
    std::vector<double> ms;
  };
  std::vector<Peer> peers;
  std::vector<std::vector<std::string>> notes;
  peers.push_back({"python hello: runner POST /runs (" + isolation + ")", [&] { return Post(runs, py); }, rounds, {}});
  peers.push_back({"python hello: bare fork/exec",
                   [&] { return bench::TimeCommand({"/usr/bin/python3", root + "/hello.py"}); }, rounds, {}});
  peers.push_back({"C hello (cached binary): runner POST /runs", [&] { return Post(runs, c); }, rounds, {}});
  peers.push_back({"C hello: bare fork/exec", [&] { return bench::TimeCommand({exe}); }, rounds, {}});

  bool docker = bench::TimeCommand({"docker", "info"}) >= 0 &&
                bench::TimeCommand({"docker", "image", "inspect", "playground-runner:latest"}) >= 0;
  if (docker) {
    int drounds = std::max(3, rounds / 3);
    peers.push_back({"python hello: docker run --rm",
                     [&] {
                       return bench::TimeCommand({"docker", "run", "--rm", "--network", "none", "-v", root + ":/w",
                                                  "--entrypoint", "/usr/bin/python3", "playground-runner:latest",
                                                  "/w/hello.py"});
                     },
                     drounds, {}});
    peers.push_back({"C hello: docker run --rm",
                     [&] {
                       return bench::TimeCommand({"docker", "run", "--rm", "--network", "none", "-v",
                                                  dir.path() + ":/d", "--entrypoint", "/d/hello-bare",
                                                  "playground-runner:latest"});
                     },
                     drounds, {}});
  } else {
    notes.push_back({"docker run --rm", "n/a (no dockerd or no playground-runner:latest)", "", ""});
  }
  std::string hub = Env("PG_HUB_URL"), token = Env("PG_HUB_TOKEN"), pgid = Env("PG_HUB_PLAYGROUND");
  const std::string hub_url = hub + "/api/v1/playgrounds/" + pgid + "/runs";
  const std::string hub_body = R"({"files":{"hello.py":"print('Hello, World!')\n"}})";
  if (!hub.empty() && !token.empty() && !pgid.empty()) {
    peers.push_back({"python hello: through the hub", [&] { return Post(hub_url, hub_body, token); }, rounds, {}});
  } else {
    notes.push_back({"through the hub", "n/a (set PG_HUB_URL, PG_HUB_TOKEN, PG_HUB_PLAYGROUND)", "", ""});
  }
  for (auto& p : peers) p.run();  // warm-up (and the compile of the C program)
  for (int r = 0; r < rounds; ++r)
    for (auto& p : peers) {
      if (r >= p.max_rounds) continue;
      double ms = p.run();
      if (ms >= 0) p.ms.push_back(ms);
    }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : peers) rows.push_back(Row(p.what, p.ms));
  for (auto& n : notes) rows.push_back(n);
  std::printf("Runner round trips (request -> result), ms\n");
  bench::PrintTable({"what", "median", "p99", "n"}, rows);

  double secs = std::atof(Env("THROUGHPUT_SECONDS", "4").c_str());
  std::vector<std::vector<std::string>> trows;
  trows.push_back({"C hello (cached), 8 clients", bench::Fmt(Throughput(runs, c, 8, secs), 1)});
  trows.push_back({"python hello, 8 clients", bench::Fmt(Throughput(runs, py, 8, secs), 1)});
  trows.push_back({"C hello (cached), 1 client", bench::Fmt(Throughput(runs, c, 1, secs), 1)});
  std::printf("\nSustained runs/second of one runner server (%s isolation, %u cores)\n", isolation.c_str(),
              std::thread::hardware_concurrency());
  bench::PrintTable({"workload", "runs/s"}, trows);

  kill(server, SIGTERM);
  int status;
  waitpid(server, &status, 0);
  return 0;
}
