// `playground serve --orchestrator docker` end to end: playgrounds created
// and deleted through the hub's REST API leave no labelled container or
// volume behind, and the hub's start-up reconciliation removes the
// resources of ids no registry row owns — only its own, never another
// hub's on the same engine. Skips when the engine or images are absent.
#include <sys/stat.h>

#include <thread>

#include "common/crypto.h"
#include "docker_fixture.h"
#include "orchestrator/docker/docker_spec.h"
#include "testing/hub_process.h"

namespace pg::orchestrator {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;

using DockerHubTest = DockerFixture;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

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
  ASSERT_EQ(Labelled(IdLabel(orphan.id)).size(), 2u);
  // And one of which only the host side exists (a hub killed before it
  // created the named volume).
  PlaygroundSpec half;
  half.id = NewPlaygroundId();
  ASSERT_TRUE((*mine)->CreateVolume(half, nullptr).ok());
  ASSERT_TRUE(api_.Json(verb::delete_, "/volumes/" + docker::VolumeName(half.id)).ok());
  ASSERT_TRUE(Exists(docker::VolumeDir(config_, half.id)));

  pg::testing::HubProcess hub(dir_.path(), {"--orchestrator", "docker"});
  ASSERT_TRUE(hub.Start()) << hub.log();
  std::vector<std::string> left;
  for (int i = 0; i < 200; ++i) {
    left = Labelled(IdLabel(orphan.id));
    if (left.empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(left.empty()) << "orphan resources left: " << left.size() << "\n" << hub.log();
  for (const auto& id : {orphan.id, half.id}) {
    EXPECT_FALSE(Exists(docker::VolumeDir(config_, id))) << id << "\n" << hub.log();
    EXPECT_FALSE(Exists(docker::VolumeDir(config_, id) + ".ext4")) << id;
    EXPECT_FALSE(Exists(docker::RunDir(config_, id))) << id;
  }
  EXPECT_EQ(Labelled(IdLabel(theirs.id)).size(), 1u) << "another hub's volume must stay";
  EXPECT_TRUE(Exists(docker::VolumeDir(other_config, theirs.id)));
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
    EXPECT_EQ(Labelled(IdLabel(id)).size(), 3u) << "two containers and a volume";
  }
  EXPECT_FALSE(Labelled(HubLabel()).empty());
  for (const auto& id : ids) {
    auto r = hub.Call("DELETE", "/api/v1/playgrounds/" + id);
    EXPECT_EQ(r.status, 204) << r.body;
  }
  EXPECT_TRUE(Labelled(HubLabel()).empty()) << "labelled containers or volumes left after deleting every playground";
  for (const auto& id : ids) {
    EXPECT_TRUE(Labelled(IdLabel(id)).empty()) << id;
    EXPECT_FALSE(Exists(docker::VolumeDir(config_, id))) << "host side of the volume of " << id << " left";
    EXPECT_FALSE(Exists(docker::VolumeDir(config_, id) + ".ext4")) << "volume image of " << id << " left";
    EXPECT_FALSE(Exists(docker::RunDir(config_, id))) << "run dir of " << id << " left";
  }
}

}  // namespace
}  // namespace pg::orchestrator
