// Contract test of the ecs orchestrator against the stateful fake AWS: full
// create → start → stop → start → stop → destroy cycles in both storage
// modes and both routing modes, with and without injected faults, a hub
// killed mid-create (a forked child SIGKILLed at several points), rollback
// of a failed start, ALB limits, and concurrent creates racing for rule
// priorities. Every request is checked against AWS's models by the fake;
// after every scenario the fake must hold no leaked resource.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/crypto.h"
#include "common/http_server.h"
#include "fake_aws.h"
#include "orchestrator/ecs/ecs_orchestrator.h"
#include "testing/testing.h"

namespace pg::orchestrator {
namespace {

using aws::testing::FakeAws;
using aws::testing::Faults;
namespace asio = boost::asio;

asio::awaitable<std::optional<http::Response>> Healthz(http::Request* req) {
  co_return http::MakeResponse(*req, req->target() == "/healthz" ? boost::beast::http::status::ok
                                                                  : boost::beast::http::status::not_found,
                               "{}");
}

// The two servers a task would run, on 127.0.0.1 (the fake's task IP).
class HealthServers {
 public:
  HealthServers() {
    for (auto* s : {&ws_, &run_}) {
      *s = std::make_unique<http::Server>(io_.get_executor(), [](http::Request& r, http::Stream&, boost::beast::flat_buffer&) {
        return Healthz(&r);
      });
    }
    ws_port_ = ws_->Listen(Endpoint::Tcp("127.0.0.1", 0))->port;
    run_port_ = run_->Listen(Endpoint::Tcp("127.0.0.1", 0))->port;
    ws_->Start();
    run_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HealthServers() {
    asio::post(io_, [this] {
      ws_->Stop();
      run_->Stop();
      io_.stop();
    });
    thread_.join();
  }
  uint16_t ws_port() const { return ws_port_; }
  uint16_t run_port() const { return run_port_; }

 private:
  asio::io_context io_;
  std::unique_ptr<http::Server> ws_, run_;
  uint16_t ws_port_ = 0, run_port_ = 0;
  std::thread thread_;
};

EcsConfig Config(const FakeAws& fake, const std::string& storage, const std::string& routing, uint16_t ws_port,
                 uint16_t run_port) {
  EcsConfig c;
  c.region = "us-east-1";
  c.cluster = "playground";
  c.subnets = fake.subnets();
  c.security_groups = {fake.security_group()};
  c.efs_security_groups = {fake.security_group()};
  c.storage_mode = storage;
  c.file_system_id = fake.shared_file_system_id();
  c.routing_mode = routing;
  c.listener_arn = fake.listener_arn();
  c.vpc_id = fake.vpc_id();
  c.workspace_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/playground:latest";
  c.runner_image = c.workspace_image;
  c.execution_role_arn = "arn:aws:iam::123456789012:role/playground-execution";
  c.task_role_arn = "arn:aws:iam::123456789012:role/playground-task";
  c.log_group = "/playground/tasks";
  c.workspace_port = ws_port;
  c.runner_port = run_port;
  c.poll_initial = std::chrono::milliseconds(1);
  c.poll_max = std::chrono::milliseconds(5);
  c.destroy_timeout = std::chrono::milliseconds(30000);
  c.client.endpoint = fake.url();
  c.client.retry.max_attempts = 8;
  c.client.retry.base_delay = std::chrono::milliseconds(2);
  c.client.retry.max_backoff = std::chrono::milliseconds(20);
  c.client.timeout = std::chrono::milliseconds(1500);
  return c;
}

std::shared_ptr<aws::CredentialsProvider> Creds() { return aws::StaticCredentials({"AKIDFAKE", "fake-secret", ""}); }

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

using Mode = std::tuple<std::string, std::string>;  // storage, routing

class EcsContract : public ::testing::TestWithParam<Mode> {
 protected:
  std::string storage() const { return std::get<0>(GetParam()); }
  std::string routing() const { return std::get<1>(GetParam()); }
  EcsConfig Cfg() const { return Config(fake_, storage(), routing(), health_.ws_port(), health_.run_port()); }
  std::unique_ptr<Orchestrator> Make(EcsConfig c) {
    auto o = MakeEcsOrchestrator(std::move(c), Creds());
    EXPECT_TRUE(o.ok()) << o.error().message;
    return std::move(o).value();
  }

  // create → start → stop → start → stop → destroy of one playground.
  void Cycle(Orchestrator& orch, const std::string& template_name) {
    PlaygroundSpec spec;
    spec.id = NewPlaygroundId();
    spec.template_name = template_name;
    std::map<std::string, std::string> rec;
    RecordFn record = [&rec](const std::string& k, const std::string& v) { rec[k] = v; };
    auto deadline = [] { return Clock::now() + std::chrono::seconds(30); };

    auto v = orch.CreateVolume(spec, record);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_TRUE(rec.contains(storage() == "access-point" ? "efs.access_point" : "efs.file_system"));
    // Idempotent.
    auto v2 = orch.CreateVolume(spec, record);
    ASSERT_TRUE(v2.ok()) << v2.error().message;

    for (int round = 0; round < 2; ++round) {
      spec.resources = rec;
      auto b = orch.Start(spec, record, deadline());
      ASSERT_TRUE(b.ok()) << b.error().message;
      EXPECT_EQ(b->workspace, Endpoint::Tcp("127.0.0.1", health_.ws_port()));
      EXPECT_EQ(b->runner, Endpoint::Tcp("127.0.0.1", health_.run_port()));
      EXPECT_TRUE(rec.contains("ecs.task"));
      if (routing() == "alb-rules") {
        EXPECT_TRUE(rec.contains("elb.rule"));
        EXPECT_TRUE(rec.contains("elb.target_group"));
      }
      Health h = orch.Status(spec.id);
      EXPECT_TRUE(h.workspace_up && h.runner_up) << h.detail;
      auto owned = orch.ListOwned();
      ASSERT_TRUE(owned.ok()) << owned.error().message;
      EXPECT_NE(std::find(owned->begin(), owned->end(), spec.id), owned->end());

      spec.resources = rec;
      auto s = orch.Stop(spec);
      ASSERT_TRUE(s.ok()) << s.error().message;
      EXPECT_TRUE(orch.Stop(spec).ok());  // stopping a stopped playground succeeds
      for (const auto& leak : fake_.Leaks()) {
        EXPECT_EQ(leak.find("ecs task arn:"), std::string::npos) << leak;
        EXPECT_EQ(leak.find("elb "), std::string::npos) << leak;
      }
    }
    spec.resources = rec;
    auto d = orch.Destroy(spec);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(orch.Destroy(spec).ok());  // already gone counts as removed
  }

  void ExpectClean() {
    EXPECT_TRUE(fake_.Leaks().empty()) << "leaked:\n" << Join(fake_.Leaks());
    EXPECT_TRUE(fake_.Violations().empty()) << "violations:\n" << Join(fake_.Violations());
  }

  FakeAws fake_;
  HealthServers health_;
};

TEST_P(EcsContract, FullCycles) {
  auto orch = Make(Cfg());
  Cycle(*orch, "python");
  Cycle(*orch, "blank");
  ExpectClean();
  // Every operation of the issue was exercised.
  auto ops = fake_.Operations();
  std::set<std::string> seen(ops.begin(), ops.end());
  for (const char* op : {"RegisterTaskDefinition", "DeregisterTaskDefinition", "RunTask", "DescribeTasks", "StopTask",
                         "ListTasks"})
    EXPECT_TRUE(seen.contains(op)) << op;
  if (storage() == "access-point") {
    for (const char* op : {"CreateAccessPoint", "DescribeAccessPoints", "DeleteAccessPoint"}) EXPECT_TRUE(seen.contains(op)) << op;
  } else {
    for (const char* op : {"CreateFileSystem", "DescribeFileSystems", "CreateMountTarget", "DescribeMountTargets",
                           "DeleteMountTarget", "DeleteFileSystem"})
      EXPECT_TRUE(seen.contains(op)) << op;
  }
  if (routing() == "alb-rules") {
    for (const char* op : {"CreateTargetGroup", "RegisterTargets", "DescribeTargetHealth", "DescribeRules", "CreateRule",
                           "DeleteRule", "DeleteTargetGroup"})
      EXPECT_TRUE(seen.contains(op)) << op;
  }
}

TEST_P(EcsContract, FullCyclesWithThrottlingServerErrorsAndTimeouts) {
  Faults f;
  f.throttle = 0.12;
  f.server_error = 0.08;
  f.timeout = 0.04;
  f.timeout_delay = std::chrono::milliseconds(500);
  f.seed = 7;
  fake_.SetFaults(f);
  auto cfg = Cfg();
  cfg.client.timeout = std::chrono::milliseconds(250);
  auto orch = Make(cfg);
  Cycle(*orch, "c");
  Cycle(*orch, "node");
  EXPECT_GT(fake_.faults_injected(), 5);
  fake_.SetFaults({});
  ExpectClean();
}

// The hub dies (SIGKILL) at several points of create; the next hub cleans up
// from the recorded ids, or, when nothing was recorded, by tags/names.
TEST_P(EcsContract, HubKilledMidCreateLeavesNothingBehind) {
  pg::testing::TempDir dir;
  int interrupted = 0;
  for (int kill_after : {2, 5, 9, 14, 20, 30}) {
    for (bool use_records : {true, false}) {
      SCOPED_TRACE("kill after " + std::to_string(kill_after) + " requests, records " + (use_records ? "on" : "off"));
      std::string id = NewPlaygroundId();
      std::string rec_path = dir.path() + "/" + id + ".rec";
      int64_t base = fake_.requests();
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        auto o = MakeEcsOrchestrator(Cfg(), Creds());
        if (!o.ok()) _exit(2);
        PlaygroundSpec spec;
        spec.id = id;
        RecordFn record = [&rec_path](const std::string& k, const std::string& v) {
          std::ofstream out(rec_path, std::ios::app);
          out << k << "=" << v << "\n";
          out.flush();
        };
        if (!(*o)->CreateVolume(spec, record).ok()) _exit(3);
        std::map<std::string, std::string> none;
        (void)(*o)->Start(spec, record, Clock::now() + std::chrono::seconds(30));
        _exit(0);
      }
      auto until = Clock::now() + std::chrono::seconds(20);
      while (fake_.requests() < base + kill_after && Clock::now() < until) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
          pid = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      if (pid > 0) {
        ++interrupted;
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      auto hub = Make(Cfg());
      if (use_records) {
        PlaygroundSpec spec;
        spec.id = id;
        std::ifstream in(rec_path);
        std::string line;
        while (std::getline(in, line)) {
          size_t eq = line.find('=');
          if (eq != std::string::npos) spec.resources[line.substr(0, eq)] = line.substr(eq + 1);
        }
        auto d = hub->Destroy(spec);
        ASSERT_TRUE(d.ok()) << d.error().message;
      } else {
        // Reconciliation at hub start: no registry row owns this id.
        auto owned = hub->ListOwned();
        ASSERT_TRUE(owned.ok()) << owned.error().message;
        for (const auto& o : *owned) {
          auto d = hub->DestroyOrphan(o);
          ASSERT_TRUE(d.ok()) << d.error().message;
        }
      }
      ExpectClean();
    }
  }
  EXPECT_GE(interrupted, 6) << "most kills must land before the child finished creating";
}

// A start that cannot become ready in time leaves nothing running.
TEST_P(EcsContract, FailedStartRollsBack) {
  auto cfg = Cfg();
  cfg.workspace_port = 1;  // nothing answers there
  auto orch = Make(cfg);
  PlaygroundSpec spec;
  spec.id = NewPlaygroundId();
  std::map<std::string, std::string> rec;
  RecordFn record = [&rec](const std::string& k, const std::string& v) { rec[k] = v; };
  ASSERT_TRUE(orch->CreateVolume(spec, record).ok());
  spec.resources = rec;
  auto b = orch->Start(spec, record, Clock::now() + std::chrono::milliseconds(300));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "not_ready");
  for (const auto& leak : fake_.Leaks()) {
    EXPECT_EQ(leak.find("ecs task arn:"), std::string::npos) << leak;
    EXPECT_EQ(leak.find("elb "), std::string::npos) << leak;
  }
  spec.resources = rec;
  ASSERT_TRUE(orch->Destroy(spec).ok());
  ExpectClean();
}

INSTANTIATE_TEST_SUITE_P(Modes, EcsContract,
                         ::testing::Combine(::testing::Values("access-point", "file-system"),
                                            ::testing::Values("hub", "alb-rules")),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

class EcsAlbLimits : public ::testing::Test {
 protected:
  FakeAws fake_;
  HealthServers health_;
};

TEST_F(EcsAlbLimits, FullListenerGivesTooManyRulesAndRollsBack) {
  fake_.AddForeignRules(100);
  auto orch = MakeEcsOrchestrator(Config(fake_, "access-point", "alb-rules", health_.ws_port(), health_.run_port()), Creds());
  ASSERT_TRUE(orch.ok());
  PlaygroundSpec spec;
  spec.id = NewPlaygroundId();
  std::map<std::string, std::string> rec;
  RecordFn record = [&rec](const std::string& k, const std::string& v) { rec[k] = v; };
  ASSERT_TRUE((*orch)->CreateVolume(spec, record).ok());
  spec.resources = rec;
  auto b = (*orch)->Start(spec, record, Clock::now() + std::chrono::seconds(20));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "TooManyRules");
  EXPECT_NE(b.error().message.find("routing mode hub"), std::string::npos) << b.error().message;
  spec.resources = rec;
  ASSERT_TRUE((*orch)->Destroy(spec).ok());
  EXPECT_TRUE(fake_.Leaks().empty()) << Join(fake_.Leaks());
  EXPECT_TRUE(fake_.Violations().empty()) << Join(fake_.Violations());
}

TEST_F(EcsAlbLimits, ConcurrentStartsRaceForPrioritiesAndAllWin) {
  fake_.AddForeignRules(3);
  auto orch = MakeEcsOrchestrator(Config(fake_, "access-point", "alb-rules", health_.ws_port(), health_.run_port()), Creds());
  ASSERT_TRUE(orch.ok());
  constexpr int kN = 4;
  std::vector<std::thread> threads;
  std::vector<Result<void>> results(kN, Ok());
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      PlaygroundSpec spec;
      spec.id = NewPlaygroundId();
      std::map<std::string, std::string> rec;
      std::mutex mu;
      RecordFn record = [&](const std::string& k, const std::string& v) {
        std::lock_guard l(mu);
        rec[k] = v;
      };
      if (auto r = (*orch)->CreateVolume(spec, record); !r.ok()) {
        results[i] = r;
        return;
      }
      auto b = (*orch)->Start(spec, record, Clock::now() + std::chrono::seconds(30));
      if (!b.ok()) {
        results[i] = b.error();
        return;
      }
      spec.resources = rec;
      results[i] = (*orch)->Destroy(spec);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(fake_.Leaks().empty()) << Join(fake_.Leaks());
  EXPECT_TRUE(fake_.Violations().empty()) << Join(fake_.Violations());
}

}  // namespace
}  // namespace pg::orchestrator
