// The playground lifecycle through a real hub: create, list, stop/start,
// delete, hub restarts, and a hub killed in the middle of a create or a
// delete. Parameterised by orchestrator.
#include <signal.h>

#include <dirent.h>

#include <set>
#include <thread>

#include "hub_fixture.h"

namespace pg::testing {
namespace {

const char* MainFile(const std::string& tmpl) {
  if (tmpl == "python") return "main.py";
  if (tmpl == "c") return "main.c";
  if (tmpl == "cpp") return "main.cpp";
  return "main.js";
}

TEST_P(HubTest, CreateListStopStartDeleteAcrossRestarts) {
  const char* templates[] = {"python", "c", "cpp", "node"};
  const int n = Scale(20);
  std::vector<std::pair<std::string, std::string>> made;  // id, template
  for (int i = 0; i < n; ++i) {
    std::string tmpl = templates[i % 4];
    auto p = Create(tmpl, "pg-" + std::to_string(i));
    ASSERT_FALSE(HasFailure()) << hub_->log();
    std::string id = Str(p, "id");
    ASSERT_EQ(id.size(), 26u);
    EXPECT_FALSE(Str(p, "token").empty());
    EXPECT_EQ(Str(p, "template"), tmpl);
    EXPECT_EQ(Str(p, "name"), "pg-" + std::to_string(i));
    EXPECT_FALSE(Str(p, "created_at").empty());
    ASSERT_TRUE(p.contains("urls"));
    EXPECT_NE(Str(p["urls"], "ide").find("/p/" + id + "/"), std::string::npos);
    EXPECT_NE(Str(p["urls"], "workspace").find("/p/" + id + "/workspace"), std::string::npos);
    EXPECT_NE(Str(p["urls"], "run").find("/p/" + id + "/run"), std::string::npos);
    made.emplace_back(id, tmpl);
  }
  auto check_all_running = [&] {
    for (const auto& [id, tmpl] : made) {
      auto r = hub_->Call("GET", "/api/v1/playgrounds/" + id);
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(Str(r.json, "status"), "running") << r.body;
      int status = 0;
      std::string content = FileOf(id, MainFile(tmpl), &status);
      EXPECT_EQ(status, 200) << content;
      EXPECT_NE(content.find("Hello"), std::string::npos) << content;
    }
  };
  check_all_running();

  // Paginated listing sees every one exactly once.
  std::set<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto r = hub_->Call("GET", "/api/v1/playgrounds?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& it : r.json.at("items").as_array()) EXPECT_TRUE(listed.insert(Str(it, "id")).second);
    if (r.json.at("next_cursor").is_null()) break;
    cursor = std::string(r.json.at("next_cursor").as_string());
  }
  EXPECT_EQ(listed.size(), made.size());

  RestartHub();
  check_all_running();

  // Stop keeps the files; start brings the same playground back.
  const std::string id0 = made[0].first;
  auto put = hub_->Call("PUT", "/api/v1/playgrounds/" + id0 + "/files/notes/keep.txt", "keep me");
  EXPECT_EQ(put.status, 204) << put.body;
  auto stop = hub_->Call("POST", "/api/v1/playgrounds/" + id0 + "/stop");
  EXPECT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(Str(stop.json, "status"), "stopped");
  EXPECT_TRUE(ProcessesOfPlayground(id0).empty());
  RestartHub();
  EXPECT_EQ(Str(hub_->Call("GET", "/api/v1/playgrounds/" + id0).json, "status"), "stopped");
  EXPECT_TRUE(ProcessesOfPlayground(id0).empty());
  auto start = hub_->Call("POST", "/api/v1/playgrounds/" + id0 + "/start");
  EXPECT_EQ(start.status, 200) << start.body;
  EXPECT_EQ(Str(start.json, "status"), "running");
  EXPECT_EQ(FileOf(id0, "notes/keep.txt"), "keep me");

  // Delete everything: nothing may be left.
  for (const auto& [id, tmpl] : made) {
    auto r = hub_->Call("DELETE", "/api/v1/playgrounds/" + id);
    EXPECT_EQ(r.status, 204) << r.body;
    auto again = hub_->Call("DELETE", "/api/v1/playgrounds/" + id);
    EXPECT_EQ(again.status, 404) << again.body;
    EXPECT_EQ(again.ErrorCode(), "not_found");
  }
  RestartHub();
  auto list = hub_->Call("GET", "/api/v1/playgrounds");
  EXPECT_EQ(list.json.at("items").as_array().size(), 0u) << list.body;
  for (const auto& [id, tmpl] : made) ExpectGone(id);
}

TEST_P(HubTest, CreateWithoutWaitReturnsAtOnceAndBecomesRunning) {
  auto r = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"python","wait":false})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Str(r.json, "status"), "creating");
  std::string id = Str(r.json, "id");
  std::string status;
  for (int i = 0; i < 600 && status != "running"; ++i) {
    status = Str(hub_->Call("GET", "/api/v1/playgrounds/" + id).json, "status");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, "running");
  EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + id).status, 204);
  ExpectGone(id);
}

TEST_P(HubTest, CrashedContainerIsRestartedAndCounted) {
  // SIGKILL of every process of the playground (for docker: each
  // container's docker-init and server, seen from the host).
  auto p = Create("python");
  std::string id = Str(p, "id");
  auto pids = ProcessesOfPlayground(id);
  ASSERT_FALSE(pids.empty());
  for (pid_t pid : pids) kill(pid, SIGKILL);
  int restarts = 0;
  for (int i = 0; i < 200 && restarts < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = hub_->Call("GET", "/api/v1/playgrounds/" + id);
    if (r.json.is_object() && r.json.as_object().contains("restarts"))
      restarts = static_cast<int>(r.json.at("restarts").to_number<int64_t>());
  }
  EXPECT_GE(restarts, 1);
  // And it serves again.
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    FileOf(id, "main.py", &status);
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + id).status, 204);
  ExpectGone(id);
}

// Hidden warm-pool slots (".<id>") under <data>/volumes and <data>/run.
std::set<std::string> WarmSlots(const std::string& data_dir) {
  std::set<std::string> ids;
  for (const char* sub : {"/volumes/", "/run/"}) {
    if (DIR* d = opendir((data_dir + sub).c_str())) {
      while (struct dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 27 || name[0] != '.') continue;
        ids.insert(name.substr(1, 26));
      }
      closedir(d);
    }
  }
  return ids;
}

// The local hub keeps playgrounds made ahead of time (--warm-pool, default
// 2): a create takes one, which then is like any other playground; slots
// are not playgrounds (not listed, never reconciled as such) and none
// outlives its hub, even one SIGKILLed.
TEST_P(HubTest, WarmPoolSlotsBecomeWholePlaygroundsAndNeverLeak) {
  if (orchestrator() != "local") GTEST_SKIP() << "the warm pool is the local orchestrator's";
  auto running = [](const std::set<std::string>& ids) {
    for (const auto& id : ids)
      if (ProcessesOfPlayground(id).size() < 2) return false;
    return true;
  };
  std::set<std::string> slots;
  for (int i = 0; i < 400 && (slots.size() < 2 || !running(slots)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slots = WarmSlots(dir_->path());
  }
  ASSERT_EQ(slots.size(), 2u) << hub_->log();
  ASSERT_TRUE(running(slots)) << hub_->log();
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds").json.at("items").as_array().size(), 0u);

  // The first creates come from the pool: their ids are slot ids.
  std::vector<std::string> made;
  for (const char* tmpl : {"python", "c"}) {
    auto p = Create(tmpl);
    made.push_back(Str(p, "id"));
    EXPECT_NE(FileOf(made.back(), MainFile(tmpl)).find("Hello"), std::string::npos);
  }
  int from_pool = 0;
  for (const auto& id : made) from_pool += slots.count(id);
  EXPECT_GE(from_pool, 1) << "no create used a warm slot";
  for (const auto& id : made) {
    EXPECT_FALSE(WarmSlots(dir_->path()).count(id));
    auto run = hub_->Call("POST", "/api/v1/playgrounds/" + id + "/runs",
                          R"J({"language":"python","files":{"t.py":"print(6*7)"},"entry":"t.py"})J");
    EXPECT_EQ(run.status, 200) << run.body;
    EXPECT_EQ(Str(run.json, "stdout"), "42\n") << run.body;
  }

  // A killed hub leaves its slots behind; the next one removes them.
  for (int i = 0; i < 200 && WarmSlots(dir_->path()).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto before = WarmSlots(dir_->path());
  hub_->Kill();
  StartHub();
  for (const auto& slot : before) {
    EXPECT_FALSE(WarmSlots(dir_->path()).count(slot)) << slot;
    EXPECT_TRUE(ProcessesOfPlayground(slot).empty()) << slot;
  }
  // The playgrounds made from slots survived as they were.
  for (const auto& id : made) {
    EXPECT_EQ(Str(hub_->Call("GET", "/api/v1/playgrounds/" + id).json, "status"), "running");
  }
  // A stopped hub takes its slots with it.
  hub_->Terminate();
  auto left = WarmSlots(dir_->path());
  EXPECT_TRUE(left.empty()) << *left.begin();
  for (const auto& slot : left) EXPECT_TRUE(ProcessesOfPlayground(slot).empty()) << slot;
  StartHub();
  for (const auto& id : made) {
    EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + id).status, 204);
    ExpectGone(id);
  }
}

// SIGKILL the hub while creates and deletes are in flight; after a restart
// every playground is either whole (running, files served) or gone
// (nothing left of it).
TEST_P(HubTest, HubKilledMidCreateAndMidDeleteLeavesWholeOrGone) {
  std::vector<std::string> keep;
  for (int i = 0; i < Scale(4); ++i) keep.push_back(Str(Create("python"), "id"));

  for (int delay_ms : {0, 2, 5, 15}) {
    // Creates in flight.
    std::vector<std::thread> clients;
    for (int i = 0; i < 3; ++i) {
      clients.emplace_back([this] { hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"python"})"); });
    }
    // A delete in flight.
    std::string victim = keep.back();
    keep.pop_back();
    clients.emplace_back([this, victim] { hub_->Call("DELETE", "/api/v1/playgrounds/" + victim); });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    hub_->Kill();
    for (auto& t : clients) t.join();
    StartHub();

    auto list = hub_->Call("GET", "/api/v1/playgrounds?limit=500");
    ASSERT_EQ(list.status, 200) << list.body;
    std::set<std::string> present;
    for (const auto& it : list.json.at("items").as_array()) {
      std::string id = Str(it, "id");
      present.insert(id);
      EXPECT_EQ(Str(it, "status"), "running") << it;
      int status = 0;
      FileOf(id, "main.py", &status);
      EXPECT_EQ(status, 200) << "playground " << id << " is not whole";
    }
    if (!present.count(victim)) ExpectGone(victim);
    // Nothing on disk that the registry does not know.
    for (const char* sub : {"/volumes", "/run"}) {
      if (DIR* d = opendir((dir_->path() + sub).c_str())) {
        while (struct dirent* e = readdir(d)) {
          if (e->d_name[0] == '.') continue;
          std::string name = e->d_name;
          if (name.size() > 5 && name.substr(name.size() - 5) == ".ext4") name.resize(name.size() - 5);
          EXPECT_TRUE(present.count(name)) << "orphan " << sub << "/" << e->d_name;
        }
        closedir(d);
      }
    }
    keep.assign(present.begin(), present.end());
    if (keep.empty()) keep.push_back(Str(Create("python"), "id"));
  }
  for (const auto& id : keep) EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + id).status, 204);
  for (const auto& id : keep) ExpectGone(id);
}

INSTANTIATE_TEST_SUITE_P(Orchestrators, HubTest, ::testing::Values("local", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pg::testing
