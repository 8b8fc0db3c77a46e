// `playground serve --orchestrator docker` end to end: playgrounds created
// and deleted through the hub's REST API leave no labelled container or
// volume behind, and the hub's start-up reconciliation removes the
// resources of ids no registry row owns — only its own, never another
// hub's on the same engine. Skips when the engine or images are absent.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <thread>

#include "common/crypto.h"
#include "orchestrator/docker/docker_api.h"
#include "orchestrator/docker/docker_orchestrator.h"
#include "orchestrator/docker/docker_spec.h"
#include "testing/hub_process.h"
#include "testing/testing.h"

namespace pg::orchestrator {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;

constexpr char kSocket[] = "/var/run/docker.sock";

std::string SkipReason() {
  docker::Api api(kSocket);
  auto ping = api.Call(verb::get, "/_ping", {}, "application/json", 3s);
  if (!ping.ok() || ping->status != 200) return "no Docker engine at /var/run/docker.sock (scripts/start-dockerd.sh)";
  DockerConfig c;
  for (const auto& image : {c.workspace_image, c.runner_image}) {
    if (!api.Json(verb::get, "/images/" + image + "/json").ok()) {
      return "image " + image + " missing (scripts/build-images.sh)";
    }
  }
  return "";
}

class DockerHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = SkipReason();
    if (!why.empty()) GTEST_SKIP() << why;
    config_.data_dir = dir_.path();
  }
  // Whatever a failed test left of this hub's resources goes (the data dir,
  // hence the hub label, is unique to the test).
  void TearDown() override {
    if (config_.data_dir.empty()) return;
    auto o = MakeDockerOrchestrator(config_);
    if (!o.ok()) return;
    auto owned = (*o)->ListOwned();
    if (owned.ok()) {
      for (const auto& id : *owned) (void)(*o)->DestroyOrphan(id);
    }
  }

  // Names of containers and volumes carrying `label` (k=v).
  std::vector<std::string> Labelled(const std::string& label) {
    std::string filter = docker::UrlEncode("{\"label\":[\"" + label + "\"]}");
    std::vector<std::string> out;
    auto cs = api_.Json(verb::get, "/containers/json?all=1&filters=" + filter);
    EXPECT_TRUE(cs.ok()) << cs.error().message;
    if (cs.ok()) {
      for (const auto& c : cs->as_array()) out.emplace_back(c.at("Names").as_array().at(0).as_string());
    }
    auto vs = api_.Json(verb::get, "/volumes?filters=" + filter);
    EXPECT_TRUE(vs.ok()) << vs.error().message;
    if (vs.ok() && vs->at("Volumes").is_array()) {
      for (const auto& v : vs->at("Volumes").as_array()) out.emplace_back(v.at("Name").as_string());
    }
    return out;
  }
  std::string HubLabel() { return std::string(docker::kLabelHub) + "=" + docker::HubLabel(config_); }

  pg::testing::TempDir dir_;
  DockerConfig config_;
  docker::Api api_{kSocket};
};

TEST_F(DockerHubTest, StartupReconciliationRemovesOnlyThisHubsOrphans) {
  // An orphan of this hub: a volume and a labelled container, no registry row.
  auto mine = MakeDockerOrchestrator(config_);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  PlaygroundSpec orphan;
  orphan.id = NewPlaygroundId();
  ASSERT_TRUE((*mine)->CreateVolume(orphan, nullptr).ok());
  ::mkdir((dir_.path() + "/run").c_str(), 0755);
  ASSERT_EQ(::mkdir(docker::RunDir(config_, orphan.id).c_str(), 0700), 0);
  json::value body = docker::ContainerConfig(config_, orphan, "runner");
  auto created = api_.Json(verb::post, "/containers/create?name=" + docker::ContainerName(orphan.id, "runner"), &body);
  ASSERT_TRUE(created.ok()) << created.error().message;
  // Another hub's playground on the same engine.
  pg::testing::TempDir other_dir;
  DockerConfig other_config;
  other_config.data_dir = other_dir.path();
  auto other = MakeDockerOrchestrator(other_config);
  ASSERT_TRUE(other.ok());
  PlaygroundSpec theirs;
  theirs.id = NewPlaygroundId();
  ASSERT_TRUE((*other)->CreateVolume(theirs, nullptr).ok());
  ASSERT_EQ(Labelled("io.playground.id=" + orphan.id).size(), 2u);

  pg::testing::HubProcess hub(dir_.path(), {"--orchestrator", "docker"});
  ASSERT_TRUE(hub.Start()) << hub.log();
  std::vector<std::string> left;
  for (int i = 0; i < 200; ++i) {
    left = Labelled("io.playground.id=" + orphan.id);
    if (left.empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(left.empty()) << "orphan resources left: " << left.size() << "\n" << hub.log();
  EXPECT_EQ(Labelled("io.playground.id=" + theirs.id).size(), 1u) << "another hub's volume must stay";
  EXPECT_TRUE((*other)->Destroy(theirs).ok());
}

TEST_F(DockerHubTest, DeletingEveryPlaygroundLeavesNoLabelledContainerOrVolume) {
  pg::testing::HubProcess hub(dir_.path(), {"--orchestrator", "docker"});
  ASSERT_TRUE(hub.Start()) << hub.log();
  std::vector<std::string> ids;
  for (std::string tmpl : {"python", "c"}) {
    auto r = hub.Call("POST", "/api/v1/playgrounds", "{\"template\":\"" + tmpl + "\"}");
    ASSERT_EQ(r.status, 201) << r.body << "\n" << hub.log();
    ASSERT_TRUE(r.json.is_object()) << r.body;
    std::string status(r.json.at("status").as_string());
    std::string id(r.json.at("id").as_string());
    ids.push_back(id);
    ASSERT_EQ(status, "running") << r.body;
    EXPECT_EQ(r.json.at("orchestrator").as_string(), "docker");
    // Served by the workspace container from the seeded volume.
    auto file = hub.Call("GET", "/api/v1/playgrounds/" + id + "/files/" + (tmpl == "c" ? "main.c" : "main.py"));
    EXPECT_EQ(file.status, 200) << file.body;
    EXPECT_NE(file.body.find("Hello, world!"), std::string::npos) << file.body;
    EXPECT_EQ(Labelled("io.playground.id=" + id).size(), 3u) << "two containers and a volume";
  }
  EXPECT_FALSE(Labelled(HubLabel()).empty());
  for (const auto& id : ids) {
    auto r = hub.Call("DELETE", "/api/v1/playgrounds/" + id);
    EXPECT_EQ(r.status, 204) << r.body;
  }
  EXPECT_TRUE(Labelled(HubLabel()).empty()) << "labelled containers or volumes left after deleting every playground";
  for (const auto& id : ids) EXPECT_TRUE(Labelled("io.playground.id=" + id).empty()) << id;
}

}  // namespace
}  // namespace pg::orchestrator
